package e2e

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"bitqueue/fixture"
)

// startExporter starts an exporter of e's queue on a free loopback port and
// returns the base URL of its HTTP server.
func startExporter(t *testing.T, e env, args ...string) string {
	t.Helper()
	args = append([]string{"-redis", e.URL, "-queue", e.queue, "-http-addr", "127.0.0.1:0"}, args...)
	return opsURL(t, spawnBin(t, "exporter", args...))
}

// requireNoQueueSeries fails t when a worker's metrics hold a queue-level
// series: those come from the exporter, once per fleet.
func requireNoQueueSeries(t *testing.T, mfs map[string]*dto.MetricFamily) {
	t.Helper()
	for name := range mfs {
		if strings.HasPrefix(name, "bitqueue_queue_") || name == "bitqueue_workers" {
			t.Errorf("the worker exports %s: queue-level metrics belong to the exporter", name)
		}
	}
}

// asynqGoldenFamily is one metric of asynq's own queue collector, as
// internal/metrics/testdata/asynq-queue-metrics.txt lists it (copied from
// asynq's x/metrics source).
type asynqGoldenFamily struct {
	name, typ, help string
	labels          []string
}

// asynqGoldenFamilies reads the golden list of asynq's queue metrics.
func asynqGoldenFamilies(t *testing.T) []asynqGoldenFamily {
	t.Helper()
	var out []asynqGoldenFamily
	for line := range strings.SplitSeq(readRepoFile(t, "internal/metrics/testdata/asynq-queue-metrics.txt"), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		require.Len(t, f, 4, "golden line %q", line)
		out = append(out, asynqGoldenFamily{name: f[0], typ: f[1], labels: strings.Split(f[2], ","), help: f[3]})
	}
	require.Len(t, out, 7)
	return out
}

// TestExporterServesAsynqNames runs the real exporter on a paused queue
// holding tasks and checks that its /metrics holds every metric of asynq's
// own queue collector, with asynq's names, types, help and label names
// exactly (what asynqmon's metrics tab queries), beside bitqueue's, with
// the same values; and that `promtool check metrics` finds nothing to say
// but of asynq's two gauges named _total.
func TestExporterServesAsynqNames(t *testing.T) {
	t.Parallel()
	e := setup(t)
	fixture.EnqueueNoops(t, e.Client, e.queue, 4)
	require.NoError(t, e.inspector(t).PauseQueue(e.queue))

	u := startExporter(t, e)
	code, body := httpGet(t, u+"/metrics")
	require.Equal(t, http.StatusOK, code, body)
	mfs := scrape(t, u)
	types := map[string]dto.MetricType{"gauge": dto.MetricType_GAUGE, "counter": dto.MetricType_COUNTER}
	golden := asynqGoldenFamilies(t)
	for _, g := range golden {
		mf, ok := mfs[g.name]
		require.True(t, ok, "the exporter does not export %s", g.name)
		require.Equal(t, types[g.typ], mf.GetType(), "%s: type", g.name)
		require.Equal(t, g.help, mf.GetHelp(), "%s: help", g.name)
		require.Contains(t, body, "# TYPE "+g.name+" "+g.typ+"\n")
		for _, m := range mf.GetMetric() {
			var names []string
			for _, lp := range m.GetLabel() {
				names = append(names, lp.GetName())
			}
			slices.Sort(names)
			require.Equal(t, g.labels, names, "%s: label names", g.name)
		}
	}
	for name := range mfs {
		if strings.HasPrefix(name, "asynq_") {
			require.True(t, slices.ContainsFunc(golden, func(g asynqGoldenFamily) bool { return g.name == name }), "%s is not a metric of asynq's collector", name)
		}
	}
	for _, c := range []struct {
		asynq, bitqueue string
		labels          []string
		want            float64
	}{
		{"asynq_queue_size", "", []string{"queue", e.queue}, 4},
		{"asynq_tasks_enqueued_total", "bitqueue_queue_tasks", []string{"queue", e.queue, "state", "pending"}, 4},
		{"asynq_tasks_enqueued_total", "bitqueue_queue_tasks", []string{"queue", e.queue, "state", "archived"}, 0},
		{"asynq_queue_paused_total", "bitqueue_queue_paused", []string{"queue", e.queue}, 1},
		{"asynq_tasks_processed_total", "bitqueue_queue_processed_total", []string{"queue", e.queue}, 0},
		{"asynq_tasks_failed_total", "bitqueue_queue_failed_total", []string{"queue", e.queue}, 0},
	} {
		require.Equal(t, c.want, sample(t, mfs, c.asynq, c.labels...), "%s%v", c.asynq, c.labels)
		if c.bitqueue != "" {
			require.Equal(t, c.want, sample(t, mfs, c.bitqueue, c.labels...), "%s%v", c.bitqueue, c.labels)
		}
	}

	rc, out := promtool(t, body, "check", "metrics")
	var findings []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l != "" {
			findings = append(findings, l)
		}
	}
	require.ElementsMatch(t, []string{
		`asynq_queue_paused_total non-counter metrics should not have "_total" suffix`,
		`asynq_tasks_enqueued_total non-counter metrics should not have "_total" suffix`,
	}, findings, "promtool check metrics (exit %d): only asynq's own names may be flagged", rc)
}
