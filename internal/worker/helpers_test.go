package worker_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/redisconn"
	"bitqueue/internal/worker"
	"bitqueue/redistest"
)

func TestMain(m *testing.M) {
	// A test that needs a whole worker process re-executes this binary with
	// childEnv set; see child_test.go.
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(runChild(mode))
	}
	os.Exit(m.Run())
}

// testTaskType is the type of the tasks enqueued by enqueue.
const testTaskType = "test:echo"

// waitUntil polls cond every 10 ms until it holds, failing t if it does not
// within timeout.
func waitUntil(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			require.FailNowf(t, "timed out", "waited %s for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// recv receives from ch, failing t if nothing arrives within timeout.
func recv[T any](t testing.TB, ch <-chan T, timeout time.Duration, what string) T {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v
	case <-timer.C:
		require.FailNowf(t, "timed out", "waited %s for %s", timeout, what)
		panic("unreachable")
	}
}

// syncWriter is an io.Writer safe for concurrent use that keeps everything
// written to it and, until t ends, copies it to t's log.
type syncWriter struct {
	mu    sync.Mutex
	t     testing.TB
	ended bool
	buf   strings.Builder
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.ended {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// testLogger returns a logger writing to t's log (shown on failure or with
// -v) and the writer holding everything it wrote.
func testLogger(t testing.TB) (*slog.Logger, *syncWriter) {
	t.Helper()
	w := &syncWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		w.ended = true
		w.mu.Unlock()
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})), w
}

// testConfig returns a Config serving queue of r through a client of its own
// sized the way cmd/worker sizes it, under a key prefix of the queue's.
func testConfig(t testing.TB, r *redistest.Redis, queue string, concurrency int) worker.Config {
	t.Helper()
	db, err := redisconn.Setup{URL: r.URL, PoolSize: concurrency + 10}.Open()
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	log, _ := testLogger(t)
	return worker.Config{
		RDB:             db.WithPrefix("bq" + queue),
		RedisURL:        r.URL,
		RedisWait:       5 * time.Second,
		Queues:          []string{queue},
		Concurrency:     concurrency,
		ShutdownTimeout: 2 * time.Second,
		PollInterval:    10 * time.Millisecond,
		Logger:          log,
	}
}

// serving is a Serve running in a goroutine of the test.
type serving struct {
	cancel context.CancelFunc
	done   chan struct{} // closed when Serve has returned
	err    error         // what Serve returned, once done is closed
}

// startServe runs worker.Serve in a goroutine until stop is called or t ends.
func startServe[S any](t testing.TB, cfg worker.Config, hook worker.Hook[S], newHandler func(S) asynq.Handler) *serving {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &serving{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		s.err = worker.Serve(ctx, cfg, hook, newHandler)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(cfg.ShutdownTimeout + 10*time.Second):
			t.Errorf("Serve did not return within %s of its cancellation", cfg.ShutdownTimeout+10*time.Second)
		}
	})
	return s
}

// wait waits up to timeout for Serve to return, and returns its error.
func (s *serving) wait(t testing.TB, timeout time.Duration) error {
	t.Helper()
	recv(t, s.done, timeout, "Serve to return")
	return s.err
}

// stop cancels Serve's context and waits up to timeout for it to return.
func (s *serving) stop(t testing.TB, timeout time.Duration) error {
	t.Helper()
	s.cancel()
	return s.wait(t, timeout)
}

// enqueue puts n tasks of type testTaskType into queue, each with a task id
// "<name>-<i>" that is also its payload, and returns the ids.
func enqueue(t testing.TB, r *redistest.Redis, queue, name string, n int) []string {
	t.Helper()
	client := asynq.NewClientFromRedisClient(r.Client)
	ids := make([]string, n)
	for i := range n {
		ids[i] = fmt.Sprintf("%s-%04d", name, i)
		_, err := client.Enqueue(asynq.NewTask(testTaskType, []byte(ids[i])),
			asynq.Queue(queue), asynq.TaskID(ids[i]), asynq.MaxRetry(3))
		require.NoError(t, err, "enqueue %s", ids[i])
	}
	return ids
}

// queueInfo returns the current state of queue.
func queueInfo(t testing.TB, r *redistest.Redis, queue string) *asynq.QueueInfo {
	t.Helper()
	info, err := asynq.NewInspectorFromRedisClient(r.Client).GetQueueInfo(queue)
	require.NoError(t, err, "queue %s", queue)
	return info
}

// queueDrained reports whether queue holds no task in any state but
// completed: everything enqueued was processed and acknowledged.
func queueDrained(t testing.TB, r *redistest.Redis, queue string) bool {
	t.Helper()
	return queueInfo(t, r, queue).Size == 0
}

// tally counts how many times a handler saw each task id.
type tally struct {
	mu     sync.Mutex
	counts map[string]int
	total  int
}

func newTally() *tally { return &tally{counts: make(map[string]int)} }

func (c *tally) add(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counts[id]++
	c.total++
}

// distinct is the number of different task ids seen.
func (c *tally) distinct() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.counts)
}

// requireExactlyOnce fails t unless the tasks seen are exactly ids, each once.
func (c *tally) requireExactlyOnce(t testing.TB, ids []string) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	var dup, missing, unknown []string
	for _, id := range ids {
		switch n := c.counts[id]; {
		case n == 0:
			missing = append(missing, id)
		case n > 1:
			dup = append(dup, fmt.Sprintf("%s×%d", id, n))
		}
	}
	for id := range c.counts {
		if !slices.Contains(ids, id) {
			unknown = append(unknown, id)
		}
	}
	require.Empty(t, missing, "tasks never handled (lost)")
	require.Empty(t, dup, "tasks handled more than once")
	require.Empty(t, unknown, "tasks handled that were never enqueued")
	require.Equal(t, len(ids), c.total)
}
