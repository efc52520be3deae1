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

// TestStatusAndRequeue builds a run whose six batches are in every state a
// batch can be in, then checks what GetStatus counts and what Requeue sends
// back.
func TestStatusAndRequeue(t *testing.T) {
	t.Parallel()
	e := newEnv(t, runs.Config{})
	queue := e.queue
	ctx := context.Background()
	const runID = "status-run"
	rec := base.Record{RunID: runID, Queue: queue, Shards: 1, Batches: 6, Integers: 6, BatchSize: 1, Created: time.Now(), Updated: time.Now()}
	insp := e.db.Inspector()
	enqueue := e.batchEnqueuer(t, runID, func(uint64) string { return queue })

	for seq := range uint64(2) { // 0, 1: done
		e.save(t, runID, seq, 0)
	}
	enqueue(2) // pending
	enqueue(3) // failed
	require.NoError(t, insp.ArchiveTask(queue, base.TaskID(runID, 3)))
	// 4: lost, neither result nor task
	enqueue(5, asynq.ProcessIn(time.Hour)) // pending, scheduled

	st, err := e.svc.Status(ctx, rec)
	require.NoError(t, err)
	require.Equal(t, rec, st.Record)
	require.Equal(t, runs.RunRunning, st.State)
	require.Equal(t, 2, st.Done, "done")
	require.Equal(t, 2, st.Pending, "pending")
	require.Equal(t, 1, st.Scheduled, "scheduled")
	require.Zero(t, st.Active, "active")
	require.Equal(t, 1, st.Failed, "failed")
	require.Equal(t, 1, st.Lost, "lost")
	require.Equal(t, []string{runID + ":3"}, st.FailedIDs)
	require.Equal(t, []string{runID + ":4"}, st.LostIDs)

	// Batch 4's integers are only in the run's input, which this run's
	// record does not name: it stays lost.
	out, err := e.svc.Requeue(ctx, rec, nil)
	var need *runs.InputNeededError
	require.ErrorAs(t, err, &need)
	require.Equal(t, []string{runID + ":3"}, out.Failed)
	info, err := insp.GetTaskInfo(queue, runID+":3")
	require.NoError(t, err)
	require.Equal(t, asynq.TaskStatePending, info.State)

	st, err = e.svc.Status(ctx, rec)
	require.NoError(t, err)
	require.Zero(t, st.Failed, "failed after requeue")
	require.Equal(t, 3, st.Pending, "pending after requeue")
	out, err = e.svc.Requeue(ctx, rec, nil)
	require.ErrorAs(t, err, &need)
	require.Empty(t, out.Failed, "nothing left to requeue")
}

// TestStatusShardedAndRetained checks a run spread over three shard queues,
// one of whose batches has a task kept as completed (--retention) but no
// result any more: that batch is lost, not pending.
func TestStatusShardedAndRetained(t *testing.T) {
	t.Parallel()
	e := newEnv(t, runs.Config{})
	r, queue := e.r, e.queue
	ctx := context.Background()
	const runID = "sharded-run"
	queues := base.Queues(queue, 3)
	t.Cleanup(func() {
		insp := asynq.NewInspectorFromRedisClient(r.Client)
		for _, q := range queues {
			_ = insp.DeleteQueue(q, true)
			keys, _ := r.Client.Keys(ctx, "asynq:{"+q+"}:*").Result()
			if len(keys) > 0 {
				r.Client.Del(ctx, keys...)
			}
		}
	})
	rec := base.Record{RunID: runID, Queue: queue, Shards: 3, Batches: 4, Integers: 4, BatchSize: 1, Created: time.Now(), Updated: time.Now()}
	insp := e.db.Inspector()
	enqueue := e.batchEnqueuer(t, runID, func(seq uint64) string {
		return base.QueueOf(queue, 3, base.TaskID(runID, seq))
	})

	// 3: processed and kept for an hour, its result gone.
	enqueue(3, asynq.Retention(time.Hour))
	prio := map[string]int{}
	for _, q := range queues {
		prio[q] = 1
	}
	srv := e.db.NewServer(asynq.Config{Queues: prio, Concurrency: 1, LogLevel: asynq.ErrorLevel, TaskCheckInterval: 10 * time.Millisecond})
	require.NoError(t, srv.Start(asynq.HandlerFunc(func(context.Context, *asynq.Task) error { return nil })))
	id3 := base.TaskID(runID, 3)
	deadline := time.Now().Add(15 * time.Second)
	for {
		info, err := insp.GetTaskInfo(base.QueueOf(queue, 3, id3), id3)
		if err == nil && info.State == asynq.TaskStateCompleted {
			break
		}
		require.True(t, time.Now().Before(deadline), "task %s never completed", id3)
		time.Sleep(20 * time.Millisecond)
	}
	srv.Shutdown()

	e.save(t, runID, 0, 0) // 0: done
	enqueue(1)             // 1: failed
	require.NoError(t, insp.ArchiveTask(base.QueueOf(queue, 3, base.TaskID(runID, 1)), base.TaskID(runID, 1)))
	enqueue(2) // 2: pending

	st, err := e.svc.Status(ctx, rec)
	require.NoError(t, err)
	require.Equal(t, []int{1, 1, 1, 1}, []int{st.Done, st.Pending, st.Failed, st.Lost}, "done, pending, failed, lost")
	require.Equal(t, []string{id3}, st.LostIDs)

	out, err := e.svc.Requeue(ctx, rec, nil)
	var need *runs.InputNeededError
	require.ErrorAs(t, err, &need, "batch 3's integers are only in the run's input")
	require.Equal(t, []string{base.TaskID(runID, 1)}, out.Failed)
	st, err = e.svc.Status(ctx, rec)
	require.NoError(t, err)
	require.Equal(t, []int{1, 2, 0, 1}, []int{st.Done, st.Pending, st.Failed, st.Lost}, "after requeue")
}

// TestStatusClearsStaleMarks marks a batch done whose result is gone: status
// counts it lost, not done, and clears its mark; a result found without its
// mark counts as done and gets its mark.
func TestStatusClearsStaleMarks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, runs.Config{})
	ctx := context.Background()
	src := input.Random(3, 4, 100)
	rec := e.createRecord(t, "stale", src, 4)
	e.save(t, "stale", 0, 0)
	e.save(t, "stale", 1, 1)
	require.NoError(t, e.r.Client.Del(ctx, base.ResultKey(e.prefix, "stale", 1)).Err()) // deleted behind the run's back
	e.save(t, "stale", 2, 2)
	require.NoError(t, e.r.Client.SetBit(ctx, base.DoneKey(e.prefix, "stale"), 2, 0).Err()) // a result without its mark

	st, err := e.svc.Status(ctx, rec)
	require.NoError(t, err)
	require.Equal(t, []int{2, 0, 0, 2}, []int{st.Done, st.Pending, st.Failed, st.Lost}, "done, pending, failed, lost")
	require.Equal(t, []string{"stale:1", "stale:3"}, st.LostIDs)
	bits, err := e.db.DoneBits(ctx, "stale")
	require.NoError(t, err)
	require.Equal(t, []bool{true, false, true, false}, []bool{bits.Done(0), bits.Done(1), bits.Done(2), bits.Done(3)})
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
