package runs_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/base"
	"bitqueue/internal/runs"
)

// waitWatched runs Wait on a run of one batch that never gets done, under
// w, until ctx ends, and returns the Unserved reports it made.
func waitWatched(t *testing.T, ctx context.Context, e *env, w runs.Watch, reports chan<- runs.Unserved) error {
	t.Helper()
	w.Unserved = func(u runs.Unserved) { reports <- u }
	return e.svc.Wait(ctx, base.Record{RunID: "unserved", Queue: e.queue, Shards: 1, Batches: 1, Integers: 1, BatchSize: 1}, w)
}

// firstReport returns the first report a Wait running in the background
// makes on reports, failing t when the Wait returns first (on done) or when
// no report of what comes within limit.
func firstReport[R any](t *testing.T, reports <-chan R, done <-chan error, limit time.Duration, what string) R {
	t.Helper()
	select {
	case r := <-reports:
		return r
	case err := <-done:
		t.Fatalf("Wait returned before reporting: %v", err)
	case <-time.After(limit):
		t.Fatalf("no report of %s within %s", what, limit)
	}
	var none R
	return none
}

// TestWaitReportsNoWorker waits on a queue no worker serves: Wait reports it
// once the (shortened) delay has passed, naming the queue.
func TestWaitReportsNoWorker(t *testing.T) {
	t.Parallel()
	e := newEnv(t, runs.Config{})
	queue := e.queue
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reports := make(chan runs.Unserved, 10)
	done := make(chan error, 1)
	go func() {
		done <- waitWatched(t, ctx, e, runs.Watch{UnservedAfter: 300 * time.Millisecond, ServerCheck: 50 * time.Millisecond}, reports)
	}()
	u := firstReport(t, reports, done, time.Minute, "the queue without a worker")
	require.Equal(t, "unserved", u.RunID)
	require.Equal(t, []string{queue}, u.Queues)
	require.GreaterOrEqual(t, u.For, 300*time.Millisecond)
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
}

// TestWaitWorkerPresent waits on a queue a server serves: no report in a
// wait several times the delay; then, the server shut down, the report
// comes.
func TestWaitWorkerPresent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, runs.Config{})
	r, queue := e.r, e.queue
	srv := startServer(t, r, queue)
	w := runs.Watch{UnservedAfter: 200 * time.Millisecond, ServerCheck: 50 * time.Millisecond}

	reports := make(chan runs.Unserved, 10)
	short, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	err := waitWatched(t, short, e, w, reports)
	cancel()
	require.True(t, errors.Is(err, context.DeadlineExceeded), "%v", err)
	require.Empty(t, reports, "a worker serves the queue: nothing to report")

	srv.Shutdown() // clears its record from Redis
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- waitWatched(t, ctx, e, w, reports) }()
	u := firstReport(t, reports, done, time.Minute, "the queue after its only worker's shutdown")
	require.Equal(t, []string{queue}, u.Queues)
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
}

// TestWaitReportsPausedQueue waits on a run of two shards, one paused: Wait
// reports the paused shard at once, although a worker serves both, and
// says nothing of unserved queues.
func TestWaitReportsPausedQueue(t *testing.T) {
	t.Parallel()
	e := newEnv(t, runs.Config{})
	shards := base.Queues(e.queue, 2)
	for _, q := range shards {
		startServer(t, e.r, q)
	}
	insp := asynq.NewInspectorFromRedisClient(e.r.Client)
	require.NoError(t, insp.PauseQueue(shards[1]))
	unpauseAtEnd(t, insp, shards[1])

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pausedReports := make(chan runs.Paused, 10)
	unserved := make(chan runs.Unserved, 10)
	w := runs.Watch{
		Paused:        func(p runs.Paused) { pausedReports <- p },
		Unserved:      func(u runs.Unserved) { unserved <- u },
		UnservedAfter: 100 * time.Millisecond,
		ServerCheck:   50 * time.Millisecond,
	}
	done := make(chan error, 1)
	rec := base.Record{RunID: "paused", Queue: e.queue, Shards: 2, Batches: 2, Integers: 2, BatchSize: 1}
	go func() { done <- e.svc.Wait(ctx, rec, w) }()
	p := firstReport(t, pausedReports, done, 10*time.Second, "the paused shard")
	require.Equal(t, runs.Paused{RunID: "paused", Queues: []string{shards[1]}}, p)
	time.Sleep(500 * time.Millisecond) // several checks
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	require.Empty(t, pausedReports, "reported once")
	require.Empty(t, unserved, "a worker serves both shards")
}
