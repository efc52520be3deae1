package metrics_test

import (
	"bufio"
	"context"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"bitqueue/fixture"
	"bitqueue/fixture/promtest"
	"bitqueue/internal/metrics"
	"bitqueue/internal/rdb"
	"bitqueue/redistest"
)

// asynqMetric is one metric of asynq's own queue collector, as
// testdata/asynq-queue-metrics.txt lists it.
type asynqMetric struct {
	name, help string
	typ        dto.MetricType
	labels     []string
}

// asynqGolden reads testdata/asynq-queue-metrics.txt.
func asynqGolden(t *testing.T) []asynqMetric {
	t.Helper()
	f, err := os.Open("testdata/asynq-queue-metrics.txt")
	require.NoError(t, err)
	defer f.Close()
	types := map[string]dto.MetricType{"gauge": dto.MetricType_GAUGE, "counter": dto.MetricType_COUNTER}
	var out []asynqMetric
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, "\t")
		require.Len(t, fields, 4, "golden line %q", line)
		typ, ok := types[fields[1]]
		require.True(t, ok, "golden line %q: type %q", line, fields[1])
		out = append(out, asynqMetric{name: fields[0], typ: typ, labels: strings.Split(fields[2], ","), help: fields[3]})
	}
	require.NoError(t, sc.Err())
	require.Len(t, out, 7, "asynq's collector has seven metrics")
	return out
}

// labelNames returns the label names of m, sorted.
func labelNames(m *dto.Metric) []string {
	var names []string
	for _, lp := range m.GetLabel() {
		names = append(names, lp.GetName())
	}
	slices.Sort(names)
	return names
}

// TestAsynqMetricNames checks that the collector, asked for asynq's names,
// sends every metric of asynq's own queue collector with its name, type,
// help and label names exactly (the golden list is copied from asynq's
// source), no asynq metric asynq does not have, and values that agree with
// bitqueue's names for the same queue, a paused one included.
func TestAsynqMetricNames(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	queue, _ := r.Namespace(t)
	fixture.EnqueueNoops(t, r.Client, queue, 3)
	insp := asynq.NewInspectorFromRedisClient(r.Client)
	require.NoError(t, insp.ArchiveTask(queue, "t0"))
	require.NoError(t, insp.PauseQueue(queue))

	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewQueues(rdb.New(r.Client, ""), []string{queue}, 5*time.Second, nil, nil).WithAsynqNames())
	mfs := gather(t, reg)

	golden := asynqGolden(t)
	for _, g := range golden {
		mf, ok := mfs[g.name]
		require.True(t, ok, "%s is not exported", g.name)
		require.Equal(t, g.typ, mf.GetType(), "%s: type", g.name)
		require.Equal(t, g.help, mf.GetHelp(), "%s: help", g.name)
		require.NotEmpty(t, mf.GetMetric(), g.name)
		for _, m := range mf.GetMetric() {
			require.Equal(t, g.labels, labelNames(m), "%s: label names", g.name)
		}
	}
	for name := range mfs {
		if strings.HasPrefix(name, "asynq_") {
			require.True(t, slices.ContainsFunc(golden, func(g asynqMetric) bool { return g.name == name }), "%s is not a metric of asynq's collector", name)
		}
	}
	var states []string
	for _, m := range mfs["asynq_tasks_enqueued_total"].GetMetric() {
		for _, lp := range m.GetLabel() {
			if lp.GetName() == "state" {
				states = append(states, lp.GetValue())
			}
		}
	}
	require.ElementsMatch(t, []string{"active", "pending", "scheduled", "retry", "archived", "completed"}, states, "asynq's states, aggregating left out as asynq does")

	q := map[string]string{"queue": queue}
	for _, state := range metrics.AsynqStates {
		qs := map[string]string{"queue": queue, "state": state}
		require.Equal(t, promtest.Sample(t, mfs, "bitqueue_queue_tasks", qs), promtest.Sample(t, mfs, "asynq_tasks_enqueued_total", qs), state)
	}
	require.Equal(t, 2.0, promtest.Sample(t, mfs, "asynq_tasks_enqueued_total", map[string]string{"queue": queue, "state": "pending"}))
	require.Equal(t, 3.0, promtest.Sample(t, mfs, "asynq_queue_size", q), "every task of the queue")
	require.Equal(t, 1.0, promtest.Sample(t, mfs, "asynq_queue_paused_total", q))
	require.Equal(t, 1.0, promtest.Sample(t, mfs, "bitqueue_queue_paused", q))
	for bq, aq := range map[string]string{
		"bitqueue_queue_latency_seconds": "asynq_queue_latency_seconds",
		"bitqueue_queue_memory_bytes":    "asynq_queue_memory_usage_approx_bytes",
		"bitqueue_queue_processed_total": "asynq_tasks_processed_total",
		"bitqueue_queue_failed_total":    "asynq_tasks_failed_total",
	} {
		require.Equal(t, promtest.Sample(t, mfs, bq, q), promtest.Sample(t, mfs, aq, q), "%s and %s", bq, aq)
	}

	// Prometheus's naming lint flags asynq's two gauges named _total, and
	// nothing else.
	problems, err := testutil.GatherAndLint(reg)
	require.NoError(t, err)
	var flagged []string
	for _, p := range problems {
		flagged = append(flagged, p.Metric+": "+p.Text)
	}
	require.ElementsMatch(t, []string{
		`asynq_queue_paused_total: non-counter metrics should not have "_total" suffix`,
		`asynq_tasks_enqueued_total: non-counter metrics should not have "_total" suffix`,
	}, flagged)
}

// TestAsynqNamesOnlyWhenAsked checks that a collector not asked for asynq's
// names sends none.
func TestAsynqNamesOnlyWhenAsked(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	queue, _ := r.Namespace(t)
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewQueues(rdb.New(r.Client, ""), []string{queue}, 5*time.Second, nil, nil))
	mfs := gather(t, reg)
	require.Contains(t, mfs, "bitqueue_queue_tasks")
	for name := range mfs {
		require.False(t, strings.HasPrefix(name, "asynq_"), "%s sent unasked", name)
	}
}

// commandCounter counts the Redis commands a client sends, those of
// pipelines one by one.
type commandCounter struct{ n atomic.Int64 }

func (c *commandCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *commandCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmd)
	}
}

func (c *commandCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

// TestAsynqNamesCostNoRedisCommand scrapes a collector sending both sets of
// names and counts the Redis commands of one scrape: as many as one
// inspection of the queues and the servers, the one bitqueue's names need.
// It runs on a Redis of its own: the servers an inspection reads, and so
// its commands, would change with other tests' workers on a shared one.
func TestAsynqNamesCostNoRedisCommand(t *testing.T) {
	t.Parallel()
	own := miniredis.RunT(t)
	queue, other := "counted", "other"
	counted := redis.NewClient(&redis.Options{Addr: own.Addr()})
	t.Cleanup(func() { counted.Close() })
	fixture.EnqueueNoops(t, counted, queue, 3)
	var counter commandCounter
	counted.AddHook(&counter)
	db := rdb.New(counted, "")
	queues := []string{queue, other}

	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewQueues(db, queues, 5*time.Second, nil, nil).WithAsynqNames())
	mfs := gather(t, reg) // connections dialled, scripts loaded
	require.Contains(t, mfs, "asynq_queue_size")

	counter.n.Store(0)
	mfs = gather(t, reg)
	require.Equal(t, 1.0, promtest.Sample(t, mfs, "bitqueue_queue_inspect_success", nil))
	scrape := counter.n.Load()

	counter.n.Store(0)
	for _, q := range queues {
		_, err := db.QueueInfo(q)
		require.NoError(t, err)
	}
	_, err := db.Inspector().Servers()
	require.NoError(t, err)
	inspection := counter.n.Load()

	require.Positive(t, inspection)
	require.Equal(t, inspection, scrape, "one scrape is one inspection, whatever the names sent")
}
