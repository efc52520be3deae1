package runs_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/base"
	"bitqueue/internal/input"
	"bitqueue/internal/results"
	"bitqueue/internal/runs"
	"bitqueue/redistest"
)

// TestLostBatchesAndEnqueueLost builds a run of eight batches, one in each
// state a batch can be in, checks which LostBatches selects, and enqueues
// exactly those again from the run's input: the same task ids and integers,
// also over a completed task kept without its result; never from another
// input.
func TestLostBatchesAndEnqueueLost(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	queue, prefix := r.Namespace(t)
	ctx := context.Background()
	const runID = "lost-run"
	src := input.Random(7, 15, 1000) // batches of 2: 0..6 full, 7 holds one integer
	identity, err := src.Identity()
	require.NoError(t, err)
	store := &results.Store{Client: r.Client, Prefix: prefix}
	rec, err := runs.CreateRecord(ctx, r.Client, prefix, runs.Record{RunID: runID, Queue: queue, Shards: 1, Batches: 8, Integers: 15, BatchSize: 2, Input: identity, Created: time.Now(), Updated: time.Now()}, time.Hour)
	require.NoError(t, err)
	client := newClient(t, r.Client)
	insp := asynq.NewInspectorFromRedisClient(r.Client)
	enqueue := batchEnqueuer(t, client, runID, func(uint64) string { return queue })
	result := base.Result{Count: 1, Width: 1, Bits: []byte{0}}

	// 5: processed and kept as completed for an hour; its result is gone.
	enqueue(5, asynq.Retention(time.Hour))
	srv := asynq.NewServerFromRedisClient(r.Client, asynq.Config{Queues: map[string]int{queue: 1}, Concurrency: 1, LogLevel: asynq.ErrorLevel, TaskCheckInterval: 10 * time.Millisecond})
	require.NoError(t, srv.Start(asynq.HandlerFunc(func(context.Context, *asynq.Task) error { return nil })))
	redistest.WaitFor(t, 15*time.Second, "batch 5 completed", func() bool {
		info, err := insp.GetTaskInfo(queue, base.TaskID(runID, 5))
		return err == nil && info.State == asynq.TaskStateCompleted
	})
	srv.Shutdown()

	require.NoError(t, store.Save(ctx, runID, 0, result)) // 0: done
	require.NoError(t, store.Save(ctx, runID, 1, result)) // 1: a result without its done mark
	require.NoError(t, r.Client.SetBit(ctx, base.DoneKey(prefix, runID), 1, 0).Err())
	enqueue(2) // 2: pending
	enqueue(3) // 3: failed
	require.NoError(t, insp.ArchiveTask(queue, base.TaskID(runID, 3)))
	// 4: neither task nor result
	enqueue(6, asynq.ProcessIn(time.Hour)) // 6: scheduled
	// 7: neither task nor result, the short last batch

	lost, err := runs.LostBatches(ctx, store, insp, rec)
	require.NoError(t, err)
	require.Equal(t, []uint64{4, 5, 7}, lost)
	bits, err := store.DoneBits(ctx, runID)
	require.NoError(t, err)
	require.True(t, bits.Done(1), "batch 1's mark repaired")

	p, err := runs.New(runs.Config{Client: client, Inspector: insp, Store: store, Queue: rec.Queue, BatchSize: rec.BatchSize, MaxRetry: 3, TaskTimeout: time.Minute, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	for _, tc := range []struct {
		name  string
		other input.Source
		field string
	}{
		{"another seed", input.Random(8, 15, 1000), "input"},
		{"another count", input.Random(7, 16, 1000), "input"},
	} {
		_, err := p.EnqueueLost(ctx, rec, tc.other, lost)
		var mismatch *runs.MismatchError
		require.True(t, errors.As(err, &mismatch), "%s: %v", tc.name, err)
		require.Equal(t, tc.field, mismatch.Field, tc.name)
	}
	info, err := insp.GetTaskInfo(queue, base.TaskID(runID, 4))
	require.ErrorIs(t, err, asynq.ErrTaskNotFound, "nothing enqueued from another input: %v", info)

	ids, err := p.EnqueueLost(ctx, rec, src, lost)
	require.NoError(t, err)
	require.Equal(t, []string{runID + ":4", runID + ":5", runID + ":7"}, ids)
	all := integersOf(t, src)
	for _, seq := range lost {
		info, err := insp.GetTaskInfo(queue, base.TaskID(runID, seq))
		require.NoError(t, err)
		require.Equal(t, asynq.TaskStatePending, info.State, "batch %d", seq)
		require.Equal(t, 3, info.MaxRetry, "batch %d", seq)
		require.Equal(t, time.Minute, info.Timeout, "batch %d", seq)
		var b base.Batch
		require.NoError(t, base.DecodeBatch(&b, info.Payload))
		require.Equal(t, all[2*seq:min(2*seq+2, 15)], b.Nums, "integers of batch %d", seq)
	}

	st, err := runs.GetStatus(ctx, store, insp, rec)
	require.NoError(t, err)
	require.Equal(t, []int{2, 5, 1, 0}, []int{st.Done, st.Pending, st.Failed, st.Lost}, "done, pending, failed, lost")
	lost, err = runs.LostBatches(ctx, store, insp, rec)
	require.NoError(t, err)
	require.Empty(t, lost)
	ids, err = p.EnqueueLost(ctx, rec, src, []uint64{4})
	require.NoError(t, err)
	require.Empty(t, ids, "a batch queued meanwhile is left alone")
}
