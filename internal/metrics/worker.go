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
		processed: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Name: "batches_processed_total",
			Help: "Batches converted and stored successfully by this worker.",
		}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "batches_failed_total",
			Help: "Batches that failed in this worker, by reason: malformed (permanent), timeout, canceled or store (retried by asynq).",
		}, []string{"reason"}),
		integers: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Name: "integers_converted_total",
			Help: "Integers converted in successfully stored batches.",
		}),
		misses: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Name: "cache_misses_total",
			Help: "Integers of successfully stored batches that were outside the cache and computed directly.",
		}),
		batchSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "batch_duration_seconds",
			Help:    "Time from a batch's start to its end in the handler, result write included, successful or not.",
			Buckets: durationBuckets,
		}),
		writeSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "result_write_duration_seconds",
			Help:    "Time taken to write a batch's result to Redis, successful or not.",
			Buckets: durationBuckets,
		}),
		writeGroups: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "result_write_batches",
			Help:    "Batches carried by each result write, one transaction and one round trip: more than 1 when saves of concurrent batches waited together.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64},
		}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "batches_in_flight",
			Help: "Batches being processed by this worker right now.",
		}),
		cacheBuild: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "cache_build_duration_seconds",
			Help: "Time this worker took to build its bitstring cache at start-up.",
		}),
		cacheEntries: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "cache_entries",
			Help: "Integers held by this worker's bitstring cache (2^cache-bits).",
		}),
		cacheBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "cache_bytes",
			Help: "Memory held by this worker's bitstring cache.",
		}),
	}
	readyGauge := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "ready",
		Help: "1 when this worker is ready (cache built, Redis answering, not shutting down), 0 otherwise.",
	}, func() float64 {
		if ready() {
			return 1
		}
		return 0
	})
	for _, r := range Reasons {
		m.failed.WithLabelValues(r)
	}
	reg.MustRegister(m.processed, m.failed, m.integers, m.misses, m.batchSeconds, m.writeSeconds,
		m.writeGroups, m.inFlight, m.cacheBuild, m.cacheEntries, m.cacheBytes, readyGauge)
	return m
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
