package runs_test

import (
	"bitqueue/internal/base"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/runs"
	"bitqueue/redistest"
)

// startServer starts an asynq server serving queue on r, as a worker does,
// and returns it; it is shut down at the end of the test. It returns once
// the server is listed among asynq's servers.
func startServer(t *testing.T, r *redistest.Redis, queue string) *asynq.Server {
	t.Helper()
	srv := asynq.NewServerFromRedisClient(r.Client, asynq.Config{
		Queues:      map[string]int{queue: 1},
		Concurrency: 1,
		LogLevel:    asynq.FatalLevel,
	})
	require.NoError(t, srv.Start(asynq.HandlerFunc(func(context.Context, *asynq.Task) error { return nil })))
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			srv.Shutdown()
		}
	})
	insp := asynq.NewInspectorFromRedisClient(r.Client)
	require.NoError(t, redistest.Await(30*time.Second, "the server listed", func() bool {
		servers, err := insp.Servers()
		return err == nil && slices.ContainsFunc(servers, func(s *asynq.ServerInfo) bool { _, ok := s.Queues[queue]; return ok })
	}))
	return srv
}

// waitWatched runs Wait on a run of one batch that never gets done, under
// w, until ctx ends, and returns the Unserved reports it made.
func waitWatched(t *testing.T, ctx context.Context, e *env, w runs.Watch, reports chan<- runs.Unserved) error {
	t.Helper()
	w.Unserved = func(u runs.Unserved) { reports <- u }
	return e.svc.Wait(ctx, base.Record{RunID: "unserved", Queue: e.queue, Shards: 1, Batches: 1, Integers: 1, BatchSize: 1}, w)
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
	select {
	case u := <-reports:
		require.Equal(t, "unserved", u.RunID)
		require.Equal(t, []string{queue}, u.Queues)
		require.GreaterOrEqual(t, u.For, 300*time.Millisecond)
	case err := <-done:
		t.Fatalf("Wait returned before reporting: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("no report of the queue without a worker within a minute")
	}
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
	select {
	case u := <-reports:
		require.Equal(t, []string{queue}, u.Queues)
	case err := <-done:
		t.Fatalf("Wait returned before reporting: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("no report within a minute of the only worker's shutdown")
	}
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
}
