package metrics

import (
	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
)

// AsynqNamespace prefixes the metric names asynq's own queue collector uses
// (github.com/hibiken/asynq/x/metrics), which asynqmon's metrics tab queries.
const AsynqNamespace = "asynq"

// AsynqStates are the values of the state label of
// asynq_tasks_enqueued_total, in the order asynq's collector sends them. It
// has no aggregating state: asynq's collector sends none.
var AsynqStates = []string{"active", "pending", "scheduled", "retry", "archived", "completed"}

// asynqDescs are the metrics of asynq's queue collector, with its names,
// help texts, types and label names exactly, so that asynqmon's metrics tab
// and dashboards written for asynq read bitqueue's exporter as they read
// asynq's. They are sent from the same inspection as bitqueue's queue
// metrics: they cost no Redis command of their own.
type asynqDescs struct {
	enqueued, size, latency, memory, processed, failed, paused *prometheus.Desc
}

// newAsynqDescs returns asynq's descriptors, with labels (nil for asynq's
// own label set) added to each, as NewQueues adds them to bitqueue's.
func newAsynqDescs(labels prometheus.Labels) asynqDescs {
	desc := func(name, help string, variable ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(AsynqNamespace, "", name), help, variable, labels)
	}
	// The help texts are asynq's, word for word (x/metrics/metrics.go).
	return asynqDescs{
		enqueued:  desc("tasks_enqueued_total", "Number of tasks enqueued; broken down by queue and state.", "queue", "state"),
		size:      desc("queue_size", "Number of tasks in a queue", "queue"),
		latency:   desc("queue_latency_seconds", "Number of seconds the oldest pending task is waiting in pending state to be processed.", "queue"),
		memory:    desc("queue_memory_usage_approx_bytes", "Number of memory used by a given queue (approximated number by sampling).", "queue"),
		processed: desc("tasks_processed_total", "Number of tasks processed (both succeeded and failed); broken down by queue", "queue"),
		failed:    desc("tasks_failed_total", "Number of tasks failed; broken down by queue", "queue"),
		paused:    desc("queue_paused_total", "Number of queues paused", "queue"),
	}
}

func (d asynqDescs) all() []*prometheus.Desc {
	return []*prometheus.Desc{d.enqueued, d.size, d.latency, d.memory, d.processed, d.failed, d.paused}
}

// collect sends what info says of one queue under asynq's names and types:
// asynq_tasks_enqueued_total and asynq_queue_paused_total are gauges despite
// their _total suffix, as asynq declares them.
func (d asynqDescs) collect(ch chan<- prometheus.Metric, info *asynq.QueueInfo) {
	q := info.Queue
	for i, n := range []int{info.Active, info.Pending, info.Scheduled, info.Retry, info.Archived, info.Completed} {
		ch <- prometheus.MustNewConstMetric(d.enqueued, prometheus.GaugeValue, float64(n), q, AsynqStates[i])
	}
	ch <- prometheus.MustNewConstMetric(d.size, prometheus.GaugeValue, float64(info.Size), q)
	ch <- prometheus.MustNewConstMetric(d.latency, prometheus.GaugeValue, info.Latency.Seconds(), q)
	ch <- prometheus.MustNewConstMetric(d.memory, prometheus.GaugeValue, float64(info.MemoryUsage), q)
	ch <- prometheus.MustNewConstMetric(d.processed, prometheus.CounterValue, float64(info.ProcessedTotal), q)
	ch <- prometheus.MustNewConstMetric(d.failed, prometheus.CounterValue, float64(info.FailedTotal), q)
	ch <- prometheus.MustNewConstMetric(d.paused, prometheus.GaugeValue, boolValue(info.Paused), q)
}

// boolValue is 1 for true, 0 for false.
func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
