package metrics_test

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"bitqueue/fixture/promtest"
	"bitqueue/internal/metrics"
	"bitqueue/internal/rdb"
	"bitqueue/redistest"
)

func TestQueuesCollector(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	queue, _ := r.Namespace(t)
	idle, _ := r.Namespace(t) // served by a worker, never given a task
	never := queue + "-never" // no task was ever enqueued on it

	client := asynq.NewClientFromRedisClient(r.Client)
	for i := range 3 {
		_, err := client.Enqueue(asynq.NewTask("test:noop", nil), asynq.Queue(queue), asynq.TaskID(fmt.Sprint("t", i)))
		require.NoError(t, err)
	}
	_, err := client.Enqueue(asynq.NewTask("test:noop", nil), asynq.Queue(queue), asynq.ProcessIn(time.Hour))
	require.NoError(t, err)
	insp := asynq.NewInspectorFromRedisClient(r.Client)
	require.NoError(t, insp.ArchiveTask(queue, "t0"))

	srv := asynq.NewServerFromRedisClient(r.Client, asynq.Config{Queues: map[string]int{idle: 1}, Concurrency: 1, LogLevel: asynq.ErrorLevel})
	require.NoError(t, srv.Start(asynq.HandlerFunc(func(context.Context, *asynq.Task) error { return nil })))
	t.Cleanup(srv.Shutdown)

	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewQueues(rdb.New(r.Client, ""), []string{queue, never, idle}, 5*time.Second, nil, nil))

	deadline := time.Now().Add(15 * time.Second)
	for promtest.Sample(t, gather(t, reg), "bitqueue_workers", nil) != 1 {
		require.True(t, time.Now().Before(deadline), "the idle queue's worker never showed in bitqueue_workers")
		time.Sleep(50 * time.Millisecond)
	}
	mfs := gather(t, reg)
	require.Equal(t, 1.0, promtest.Sample(t, mfs, "bitqueue_queue_inspect_success", nil))
	want := map[string]map[string]float64{
		queue: {"pending": 2, "active": 0, "scheduled": 1, "retry": 0, "archived": 1, "completed": 0, "aggregating": 0},
		never: {"pending": 0, "active": 0, "scheduled": 0, "retry": 0, "archived": 0, "completed": 0, "aggregating": 0},
	}
	for q, states := range want {
		for state, n := range states {
			require.Equal(t, n, promtest.Sample(t, mfs, "bitqueue_queue_tasks", map[string]string{"queue": q, "state": state}), "%s %s", q, state)
		}
		require.Zero(t, promtest.Sample(t, mfs, "bitqueue_queue_processed_total", map[string]string{"queue": q}))
		require.Zero(t, promtest.Sample(t, mfs, "bitqueue_queue_paused", map[string]string{"queue": q}))
	}
	require.GreaterOrEqual(t, promtest.Sample(t, mfs, "bitqueue_queue_latency_seconds", map[string]string{"queue": queue}), 0.0)

	problems, err := testutil.GatherAndLint(reg)
	require.NoError(t, err)
	require.Empty(t, problems)
}

// blackhole returns a Redis client of an address that accepts connections
// and never answers.
func blackhole(t *testing.T) redis.UniversalClient {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	client := redis.NewClient(&redis.Options{Addr: ln.Addr().String(), ReadTimeout: 2 * time.Second, MaxRetries: -1})
	t.Cleanup(func() {
		client.Close()
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return client
}

func TestQueuesCollectorBoundsScrapeTime(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewQueues(rdb.New(blackhole(t), ""), []string{"q"}, 200*time.Millisecond, nil, nil))

	for i := range 2 { // the second scrape finds the first inspection still running
		start := time.Now()
		mfs := gather(t, reg)
		require.Less(t, time.Since(start), 1500*time.Millisecond, "scrape %d took the Redis timeout, not the collector's", i)
		require.Zero(t, promtest.Sample(t, mfs, "bitqueue_queue_inspect_success", nil), "scrape %d", i)
		require.NotContains(t, mfs, "bitqueue_queue_tasks", "scrape %d reports no queue values", i)
	}
}
