package runs_test

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/base"
	"bitqueue/internal/input"
	"bitqueue/internal/runs"
)

// unpauseAtEnd resumes queue when t ends: a shard's pause mark is not among
// the keys the test's namespace clean-up deletes.
func unpauseAtEnd(t *testing.T, insp *asynq.Inspector, queue string) {
	t.Helper()
	t.Cleanup(func() { _ = insp.UnpauseQueue(queue) })
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
	select {
	case p := <-pausedReports:
		require.Equal(t, runs.Paused{RunID: "paused", Queues: []string{shards[1]}}, p)
	case err := <-done:
		t.Fatalf("Wait returned before reporting: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no report of the paused shard within 10 s")
	}
	time.Sleep(500 * time.Millisecond) // several checks
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	require.Empty(t, pausedReports, "reported once")
	require.Empty(t, unserved, "a worker serves both shards")
}

// TestStatusNamesPausedQueues reads the status of a run of three shards,
// two paused: its totals name them, in shard order; none once resumed.
func TestStatusNamesPausedQueues(t *testing.T) {
	t.Parallel()
	e := newEnv(t, runs.Config{})
	rec, _, err := e.svc.Enqueue(context.Background(), runs.Spec{RunID: "paused", Queue: e.queue, Shards: 3, BatchSize: 1, Source: input.Random(1, 6, 100), Integers: 6})
	require.NoError(t, err)
	shards := base.Queues(e.queue, 3)
	insp := asynq.NewInspectorFromRedisClient(e.r.Client)
	for _, q := range shards {
		t.Cleanup(func() { _ = insp.DeleteQueue(q, true) })
	}
	for _, q := range []string{shards[2], shards[0]} {
		require.NoError(t, insp.PauseQueue(q))
		unpauseAtEnd(t, insp, q)
	}

	st, err := e.svc.Status(context.Background(), rec)
	require.NoError(t, err)
	require.Equal(t, []string{shards[0], shards[2]}, st.Totals.Paused)
	require.Equal(t, 6, st.Pending, "paused batches are pending")

	for _, q := range []string{shards[0], shards[2]} {
		require.NoError(t, insp.UnpauseQueue(q))
	}
	st, err = e.svc.Status(context.Background(), rec)
	require.NoError(t, err)
	require.Equal(t, []string{}, st.Totals.Paused)
}
