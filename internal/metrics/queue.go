package metrics

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"bitqueue/internal/rdb"
)

// States are the values of the state label of bitqueue_queue_tasks, one per
// asynq task state.
var States = []string{"pending", "active", "scheduled", "retry", "archived", "completed", "aggregating"}

// Queues is a prometheus.Collector of the state of asynq queues, read from
// Redis through asynq's Inspector at each scrape: tasks per queue and state,
// tasks processed and failed since the queue was created, the age of the
// oldest pending task, and the number of live worker processes, under
// bitqueue's names (bitqueue_queue_*, bitqueue_workers) and, when
// WithAsynqNames says so, under those of asynq's own collector too (asynq_*,
// see asynqDescs), from the same inspection. It is registered by
// cmd/exporter, one process per fleet, so that the Redis load of scrapes
// does not grow with the number of workers; workers do not register it.
type Queues struct {
	db      *rdb.RDB
	queues  []string
	timeout time.Duration
	log     *slog.Logger
	busy    chan struct{} // holds a token while an inspection runs

	tasks, processed, failed, latency, paused, memory, workers, success *prometheus.Desc

	asynq      asynqDescs
	asynqNames bool // send asynq's names too
}

// NewQueues returns a collector of queues of db's Redis. One scrape waits at
// most timeout for Redis; when Redis is slower, or an earlier inspection is
// still running, the scrape reports bitqueue_queue_inspect_success 0 and no
// queue values (under either name), and logs why at warn level on log (nil:
// no log). labels, when not nil, are added to every metric, asynq's names
// included: a process that inspects several Redis servers registers one
// collector per server, each with labels of its own (such as
// {"redis": "shard-1"}).
func NewQueues(db *rdb.RDB, queues []string, timeout time.Duration, log *slog.Logger, labels prometheus.Labels) *Queues {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	q := []string{"queue"}
	desc := func(name, help string, variable []string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", name), help, variable, labels)
	}
	return &Queues{
		db: db, queues: slices.Clone(queues), timeout: timeout, log: log,
		busy:      make(chan struct{}, 1),
		tasks:     desc("queue_tasks", "Tasks in the queue, by state (from Redis).", []string{"queue", "state"}),
		processed: desc("queue_processed_total", "Tasks processed from the queue since it was created, failures included (from Redis).", q),
		failed:    desc("queue_failed_total", "Task attempts of the queue that failed since it was created (from Redis).", q),
		latency:   desc("queue_latency_seconds", "Age of the queue's oldest pending task, 0 when none is pending (from Redis).", q),
		paused:    desc("queue_paused", "1 when the queue is paused, 0 otherwise (from Redis).", q),
		memory:    desc("queue_memory_bytes", "Approximate memory the queue's tasks take in Redis, sampled by asynq.", q),
		workers:   desc("workers", "Live worker processes serving at least one of the exported queues (from Redis).", nil),
		success:   desc("queue_inspect_success", "1 when the last inspection of the queues in Redis succeeded within its time limit, 0 otherwise.", nil),
		asynq:     newAsynqDescs(labels),
	}
}

// WithAsynqNames makes c send every queue's state under the names, types
// and labels of asynq's own queue collector too (asynq_tasks_enqueued_total,
// asynq_queue_size, …), which asynqmon's metrics tab and asynq's dashboards
// query, and returns c. They come from the same inspection as bitqueue's
// names, at no Redis cost of their own. Two of asynq's gauges end in _total
// (asynq_tasks_enqueued_total, asynq_queue_paused_total), which Prometheus's
// naming lint flags; they keep asynq's names all the same, since that is
// what their readers query.
func (c *Queues) WithAsynqNames() *Queues {
	c.asynqNames = true
	return c
}

// Describe sends the descriptors of every metric Collect may send.
func (c *Queues) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.tasks, c.processed, c.failed, c.latency, c.paused, c.memory, c.workers, c.success} {
		ch <- d
	}
	if c.asynqNames {
		for _, d := range c.asynq.all() {
			ch <- d
		}
	}
}

// snapshot is what one inspection read.
type snapshot struct {
	infos   []*asynq.QueueInfo
	workers int
}

// Collect inspects the queues, once, for at most the collector's timeout,
// and sends what it read under bitqueue's names (and asynq's, see
// WithAsynqNames).
func (c *Queues) Collect(ch chan<- prometheus.Metric) {
	snap, err := c.inspect()
	if err != nil {
		c.log.Warn("queue metrics: inspection failed", "queues", c.queues, "err", err)
		ch <- prometheus.MustNewConstMetric(c.success, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.success, prometheus.GaugeValue, 1)
	ch <- prometheus.MustNewConstMetric(c.workers, prometheus.GaugeValue, float64(snap.workers))
	for _, info := range snap.infos {
		q := info.Queue
		for i, n := range []int{info.Pending, info.Active, info.Scheduled, info.Retry, info.Archived, info.Completed, info.Aggregating} {
			ch <- prometheus.MustNewConstMetric(c.tasks, prometheus.GaugeValue, float64(n), q, States[i])
		}
		ch <- prometheus.MustNewConstMetric(c.processed, prometheus.CounterValue, float64(info.ProcessedTotal), q)
		ch <- prometheus.MustNewConstMetric(c.failed, prometheus.CounterValue, float64(info.FailedTotal), q)
		ch <- prometheus.MustNewConstMetric(c.latency, prometheus.GaugeValue, info.Latency.Seconds(), q)
		ch <- prometheus.MustNewConstMetric(c.paused, prometheus.GaugeValue, boolValue(info.Paused), q)
		ch <- prometheus.MustNewConstMetric(c.memory, prometheus.GaugeValue, float64(info.MemoryUsage), q)
		if c.asynqNames {
			c.asynq.collect(ch, info)
		}
	}
}

// inspect reads every queue and the live servers. asynq's Inspector takes no
// context, so the reading runs in a goroutine of its own and inspect stops
// waiting for it after the timeout; the busy token keeps a slow Redis from
// piling up inspections, one per scrape.
func (c *Queues) inspect() (snapshot, error) {
	select {
	case c.busy <- struct{}{}:
	default:
		return snapshot{}, errors.New("an earlier inspection is still running")
	}
	type answer struct {
		snap snapshot
		err  error
	}
	done := make(chan answer, 1)
	go func() {
		s, err := c.read()
		// Release the token before answering, so that a scrape right
		// after this one does not find the inspection still running.
		<-c.busy
		done <- answer{s, err}
	}()
	timer := time.NewTimer(c.timeout)
	defer timer.Stop()
	select {
	case a := <-done:
		return a.snap, a.err
	case <-timer.C:
		return snapshot{}, fmt.Errorf("no answer from Redis within %s", c.timeout)
	}
}

func (c *Queues) read() (snapshot, error) {
	var s snapshot
	for _, q := range c.queues {
		info, err := c.db.QueueInfo(q)
		if err != nil {
			return s, err
		}
		s.infos = append(s.infos, info)
	}
	workers, err := c.db.Workers(c.queues)
	if err != nil {
		return s, fmt.Errorf("list servers: %w", err)
	}
	s.workers = workers
	return s, nil
}
