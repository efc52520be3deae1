// Package metrics holds bitqueue's Prometheus metrics: a worker's own
// (batches, integers, cache, readiness) and the queue state read from Redis
// through asynq's Inspector. Every metric is registered on a registry the
// process creates; nothing is registered globally.
package metrics

import (
	"context"
	"errors"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"bitqueue/internal/cache"
	"bitqueue/internal/results"
	"bitqueue/internal/tasks"
)

// Namespace prefixes every bitqueue metric name.
const Namespace = "bitqueue"

// Reasons a batch fails, the values of the reason label of
// bitqueue_batches_failed_total. The set is closed, so the label's
// cardinality is bounded.
const (
	ReasonMalformed = "malformed" // permanent: the task is not a valid batch
	ReasonTimeout   = "timeout"   // the task's deadline passed
	ReasonCanceled  = "canceled"  // the worker shut down mid-batch
	ReasonStore     = "store"     // the result could not be written
)

// Reasons lists every failure reason, in the order documented.
var Reasons = []string{ReasonMalformed, ReasonTimeout, ReasonCanceled, ReasonStore}

// Reason classifies a failed batch's error into one of Reasons.
func Reason(err error) string {
	switch {
	case tasks.IsPermanent(err):
		return ReasonMalformed
	case errors.Is(err, context.DeadlineExceeded):
		return ReasonTimeout
	case errors.Is(err, context.Canceled):
		return ReasonCanceled
	default:
		return ReasonStore
	}
}

// NewRegistry returns a registry holding the Go runtime and process
// collectors, ready for a process's own metrics.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Worker is a worker process's metrics. Its methods are safe for concurrent
// use.
type Worker struct {
	processed    prometheus.Counter
	failed       *prometheus.CounterVec
	integers     prometheus.Counter
	misses       prometheus.Counter
	batchSeconds prometheus.Histogram
	writeSeconds prometheus.Histogram
	writeGroups  prometheus.Histogram
	inFlight     prometheus.Gauge
	cacheBuild   prometheus.Gauge
	cacheEntries prometheus.Gauge
	cacheBytes   prometheus.Gauge
}

// durationBuckets spans 100 µs to about 10 s: a batch takes well under a
// millisecond when all is well and seconds when Redis struggles.
var durationBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// NewWorker creates a worker's metrics and registers them on reg, together
// with bitqueue_ready, which reports ready() (1 ready, 0 not) at each scrape.
// Every failure reason starts at zero, so that rate() works from the first
// failure. It panics if a metric is already registered on reg.
func NewWorker(reg prometheus.Registerer, ready func() bool) *Worker {
	m := &Worker{
		processed: counter("batches_processed_total",
			"Batches converted and stored successfully by this worker."),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts(opts("batches_failed_total",
			"Batches that failed in this worker, by reason: malformed (permanent), timeout, canceled or store (retried by asynq).")),
			[]string{"reason"}),
		integers: counter("integers_converted_total",
			"Integers converted in successfully stored batches."),
		misses: counter("cache_misses_total",
			"Integers of successfully stored batches that were outside the cache and computed directly."),
		batchSeconds: histogram("batch_duration_seconds",
			"Time from a batch's start to its end in the handler, result write included, successful or not.",
			durationBuckets),
		writeSeconds: histogram("result_write_duration_seconds",
			"Time taken to write a batch's result to Redis, successful or not.",
			durationBuckets),
		writeGroups: histogram("result_write_batches",
			"Batches carried by each result write, one transaction and one round trip: more than 1 when saves of concurrent batches waited together.",
			[]float64{1, 2, 4, 8, 16, 32, 64}),
		inFlight: gauge("batches_in_flight",
			"Batches being processed by this worker right now."),
		cacheBuild: gauge("cache_build_duration_seconds",
			"Time this worker took to build its bitstring cache at start-up."),
		cacheEntries: gauge("cache_entries",
			"Integers held by this worker's bitstring cache (2^cache-bits)."),
		cacheBytes: gauge("cache_bytes",
			"Memory held by this worker's bitstring cache."),
	}
	readyGauge := prometheus.NewGaugeFunc(prometheus.GaugeOpts(opts("ready",
		"1 when this worker is ready (cache built, Redis answering, not shutting down), 0 otherwise.")),
		func() float64 { return boolValue(ready()) })
	for _, r := range Reasons {
		m.failed.WithLabelValues(r)
	}
	reg.MustRegister(m.processed, m.failed, m.integers, m.misses, m.batchSeconds, m.writeSeconds,
		m.writeGroups, m.inFlight, m.cacheBuild, m.cacheEntries, m.cacheBytes, readyGauge)
	return m
}

// opts names a bitqueue metric, under Namespace, and says what it counts.
func opts(name, help string) prometheus.Opts {
	return prometheus.Opts{Namespace: Namespace, Name: name, Help: help}
}

// counter returns the bitqueue counter name.
func counter(name, help string) prometheus.Counter {
	return prometheus.NewCounter(prometheus.CounterOpts(opts(name, help)))
}

// gauge returns the bitqueue gauge name.
func gauge(name, help string) prometheus.Gauge {
	return prometheus.NewGauge(prometheus.GaugeOpts(opts(name, help)))
}

// histogram returns the bitqueue histogram name, observed into buckets.
func histogram(name, help string, buckets []float64) prometheus.Histogram {
	return prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: Namespace, Name: name, Help: help, Buckets: buckets,
	})
}

// Observe records one batch's outcome; it is tasks.BitsHandler's Observe.
func (m *Worker) Observe(o tasks.Outcome) {
	if o.Err != nil {
		m.failed.WithLabelValues(Reason(o.Err)).Inc()
		return
	}
	m.processed.Inc()
	m.integers.Add(float64(o.Count))
	m.misses.Add(float64(o.Misses))
}

// ObserveSave records one result save, the time it took, and, once per
// write, the batches the write carried; it is results.Saver's Observe.
func (m *Worker) ObserveSave(s results.Saved) {
	m.writeSeconds.Observe(s.Took.Seconds())
	if s.Lead {
		m.writeGroups.Observe(float64(s.Batches))
	}
}

// ObserveCache records the cache a worker built.
func (m *Worker) ObserveCache(st cache.Stats) {
	m.cacheBuild.Set(st.Build.Seconds())
	m.cacheEntries.Set(float64(st.Entries))
	m.cacheBytes.Set(float64(st.Bytes))
}

// Handler returns h counting its in-flight tasks and timing each one.
func (m *Worker) Handler(h asynq.Handler) asynq.Handler {
	return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		m.inFlight.Inc()
		start := time.Now()
		defer func() {
			m.batchSeconds.Observe(time.Since(start).Seconds())
			m.inFlight.Dec()
		}()
		return h.ProcessTask(ctx, t)
	})
}
