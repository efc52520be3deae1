package e2e

import (
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
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
