package metrics

import "github.com/prometheus/client_golang/prometheus"

// BuildInfo returns the gauge bitqueue_build_info{version,revision,goversion},
// always 1, which says which build a process runs, so that a dashboard can
// tell a fleet in the middle of a rollout.
func BuildInfo(version, revision, goVersion string) prometheus.Collector {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace:   Namespace,
		Name:        "build_info",
		Help:        "Which build the process runs: its module version, VCS revision and Go version. Always 1.",
		ConstLabels: prometheus.Labels{"version": version, "revision": revision, "goversion": goVersion},
	})
	g.Set(1)
	return g
}
