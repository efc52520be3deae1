package runs_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"bitqueue/fixture"
	"bitqueue/internal/base"
	"bitqueue/internal/input"
	"bitqueue/internal/runs"
)

// TestLostBatchesAndRequeue builds a run of eight batches, one in each
// state a batch can be in, checks which Status calls lost, and has Requeue
// enqueue exactly those again from the run's input: the same task ids and
// integers, also over a completed task kept without its result; never from
// another input; the failed batch is sent back at the same time.
func TestLostBatchesAndRequeue(t *testing.T) {
	t.Parallel()
	e := newEnv(t, runs.Config{MaxRetry: 3, TaskTimeout: time.Minute})
	e.batchSize = 2
	queue, prefix, r := e.queue, e.prefix, e.r
	ctx := context.Background()
	const runID = "lost-run"
	src := input.Random(7, 15, 1000) // batches of 2: 0..6 full, 7 holds one integer
	rec := e.createRecord(t, runID, src, 15)
	insp := e.db.Inspector()
	enqueue := e.batchEnqueuer(t, runID, func(uint64) string { return queue })

	// 5: processed and kept as completed for an hour; its result is gone.
	enqueue(5, asynq.Retention(time.Hour))
	srv := e.db.NewServer(asynq.Config{Queues: map[string]int{queue: 1}, Concurrency: 1, LogLevel: asynq.ErrorLevel, TaskCheckInterval: 10 * time.Millisecond})
	require.NoError(t, srv.Start(asynq.HandlerFunc(func(context.Context, *asynq.Task) error { return nil })))
	waitUntil(t, ctx, "batch 5 completed", func() bool {
		info, err := insp.GetTaskInfo(queue, base.TaskID(runID, 5))
		return err == nil && info.State == asynq.TaskStateCompleted
	})
	srv.Shutdown()

	e.save(t, runID, 0, 0) // 0: done
	e.save(t, runID, 1, 1) // 1: a result without its done mark
	require.NoError(t, r.Client.SetBit(ctx, base.DoneKey(prefix, runID), 1, 0).Err())
	enqueue(2) // 2: pending
	enqueue(3) // 3: failed
	require.NoError(t, insp.ArchiveTask(queue, base.TaskID(runID, 3)))
	// 4: neither task nor result
	enqueue(6, asynq.ProcessIn(time.Hour)) // 6: scheduled
	// 7: neither task nor result, the short last batch

	st, err := e.svc.Status(ctx, rec)
	require.NoError(t, err)
	require.Equal(t, []string{runID + ":4", runID + ":5", runID + ":7"}, st.LostIDs)
	bits, err := e.db.DoneBits(ctx, runID)
	require.NoError(t, err)
	require.True(t, bits.Done(1), "batch 1's mark repaired")

	for _, tc := range []struct {
		name  string
		other input.Source
		field string
	}{
		{"another seed", input.Random(8, 15, 1000), "input"},
		{"another count", input.Random(7, 16, 1000), "input"},
	} {
		_, err := e.svc.Requeue(ctx, rec, tc.other)
		var mismatch *runs.MismatchError
		require.True(t, errors.As(err, &mismatch), "%s: %v", tc.name, err)
		require.Equal(t, tc.field, mismatch.Field, tc.name)
	}
	info, err := insp.GetTaskInfo(queue, base.TaskID(runID, 4))
	require.ErrorIs(t, err, asynq.ErrTaskNotFound, "nothing enqueued from another input: %v", info)

	out, err := e.svc.Requeue(ctx, rec, src)
	require.NoError(t, err)
	require.Equal(t, []string{runID + ":4", runID + ":5", runID + ":7"}, out.Enqueued)
	require.Equal(t, 3, out.Lost)
	require.Equal(t, []string{runID + ":3"}, out.Failed, "the failed batch sent back at the same time")
	all := fixture.Integers(t, src)
	for _, seq := range []uint64{4, 5, 7} {
		info, err := insp.GetTaskInfo(queue, base.TaskID(runID, seq))
		require.NoError(t, err)
		require.Equal(t, asynq.TaskStatePending, info.State, "batch %d", seq)
		require.Equal(t, 3, info.MaxRetry, "batch %d", seq)
		require.Equal(t, time.Minute, info.Timeout, "batch %d", seq)
		var b base.Batch
		require.NoError(t, base.DecodeBatch(&b, info.Payload))
		require.Equal(t, all[2*seq:min(2*seq+2, 15)], b.Nums, "integers of batch %d", seq)
	}

	st, err = e.svc.Status(ctx, rec)
	require.NoError(t, err)
	require.Equal(t, []int{2, 6, 0, 0}, []int{st.Done, st.Pending, st.Failed, st.Lost}, "done, pending, failed, lost")
	out, err = e.svc.Requeue(ctx, rec, src)
	require.NoError(t, err)
	require.Empty(t, out.Enqueued, "nothing left to enqueue again")
	require.Zero(t, out.Lost)
}
