package runs_test

import (
	"bitqueue/internal/base"
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

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

// TestEnqueueSavesRecord checks that a producer's Enqueue leaves the run's
// record behind, and that enqueueing the run again keeps its creation time.
func TestEnqueueSavesRecord(t *testing.T) {
	t.Parallel()
	e := newEnv(t, runs.Config{MaxRetry: 1, Concurrency: 2})
	e.batchSize = 10
	ctx := context.Background()
	src := input.Random(1, 95, 1000)
	e.enqueue(t, "rec-run", src, 95)
	rec, err := e.svc.Load(ctx, "rec-run")
	require.NoError(t, err)
	require.Equal(t, e.queue, rec.Queue)
	require.Equal(t, 10, rec.Batches)
	require.EqualValues(t, 95, rec.Integers)
	require.Equal(t, 10, rec.BatchSize)
	require.Equal(t, 1, rec.Shards)
	require.WithinDuration(t, time.Now(), rec.Created, time.Minute)

	e.enqueue(t, "rec-run", src, 95)
	again, err := e.svc.Load(ctx, "rec-run")
	require.NoError(t, err)
	require.True(t, rec.Created.Equal(again.Created), "created kept: %s, then %s", rec.Created, again.Created)
	require.False(t, again.Updated.Before(rec.Updated))
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
