package runs_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/base"
	"bitqueue/internal/cache"
	"bitqueue/internal/input"
	"bitqueue/internal/runs"
	"bitqueue/internal/tasks"
	"bitqueue/redistest"
)

// save stores the result of batch seq of a run of single integers n = seq.
func save(t *testing.T, p *runs.Producer, runID string, seq uint64, nums ...uint64) {
	t.Helper()
	c, err := cache.New(8)
	require.NoError(t, err)
	r, _ := tasks.Pack(c, nums, nil)
	require.NoError(t, p.Store.Save(context.Background(), runID, seq, r))
}

// TestEnqueueSkipsDoneBatches checks what a re-run of a run reads before
// each chunk: batches done (their result exists) are not enqueued again, a
// batch holding a result without its mark (a worker that failed between the
// two writes) is not either, and gets its mark; a batch marked done whose
// result is gone (expired, deleted) is enqueued again, and its mark cleared.
func TestEnqueueSkipsDoneBatches(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	queue, prefix := r.Namespace(t)
	p := newProducer(t, r, queue, prefix, nil)
	p.BatchSize = 10
	ctx := context.Background()
	src := input.Random(1, 100, 50)
	createRecordOf(t, p, "skip", src, 100) // a run begun earlier
	for seq := range uint64(5) {
		save(t, p, "skip", seq, seq)
	}
	require.NoError(t, r.Client.HSet(ctx, base.ResultKey(prefix, "skip", 7), "v", 1).Err())
	require.NoError(t, p.Store.MarkDone(ctx, "skip", 8)) // its result gone
	st, err := p.Enqueue(ctx, "skip", src, 100)
	require.NoError(t, err)
	require.Equal(t, runs.EnqueueStats{Batches: 10, Enqueued: 4, Done: 6}, st)
	bits, err := p.Store.DoneBits(ctx, "skip")
	require.NoError(t, err)
	require.True(t, bits.Done(7), "batch 7 marked from its result")
	require.False(t, bits.Done(8), "batch 8's mark, without its result, cleared")
	info, err := p.Inspector.GetQueueInfo(queue)
	require.NoError(t, err)
	require.Equal(t, 4, info.Pending)
}

// createRecordOf creates the record of a run of src, total integers, as
// p's Enqueue would: a run begun earlier.
func createRecordOf(t *testing.T, p *runs.Producer, runID string, src input.Source, total uint64) runs.Record {
	t.Helper()
	identity, err := src.Identity()
	require.NoError(t, err)
	now := time.Now()
	rec, err := runs.CreateRecord(context.Background(), p.Store.Client, p.Store.Root(), runs.Record{
		RunID: runID, Queue: p.Queue, Shards: p.Shards, Batches: runs.Batches(total, p.BatchSize), Integers: total,
		BatchSize: p.BatchSize, Input: identity, Created: now, Updated: now,
	}, time.Hour)
	require.NoError(t, err)
	return rec
}

// TestEnqueueRefusesAnotherFingerprint re-runs a run id with each field of
// its fingerprint changed: each is refused naming the field, and nothing is
// enqueued; the same fingerprint is idempotent.
func TestEnqueueRefusesAnotherFingerprint(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	queue, prefix := r.Namespace(t)
	ctx := context.Background()
	first := newProducer(t, r, queue, prefix, nil)
	first.BatchSize = 10
	st, err := first.Enqueue(ctx, "bound", input.Random(1, 95, 1000), 95)
	require.NoError(t, err)
	require.Equal(t, 10, st.Enqueued)
	rec, err := runs.LoadRecord(ctx, r.Client, prefix, "bound")
	require.NoError(t, err)
	require.Equal(t, "random seed=1 max=1000 count=95", rec.Input)

	for _, tc := range []struct {
		name, field string
		change      func(*runs.Producer) input.Source
	}{
		{"seed", "input", func(*runs.Producer) input.Source { return input.Random(2, 95, 1000) }},
		{"count", "input", func(*runs.Producer) input.Source { return input.Random(1, 96, 1000) }},
		{"batch size", "batch_size", func(p *runs.Producer) input.Source { p.BatchSize = 5; return input.Random(1, 95, 1000) }},
		{"shards", "shards", func(p *runs.Producer) input.Source { p.Shards = 4; return input.Random(1, 95, 1000) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newProducer(t, r, queue, prefix, nil)
			p.BatchSize = 10
			src := tc.change(p)
			_, err := p.Enqueue(ctx, "bound", src, 95)
			var mismatch *runs.MismatchError
			require.ErrorAs(t, err, &mismatch)
			require.Equal(t, tc.field, mismatch.Field)
			info, err := p.Inspector.GetQueueInfo(queue)
			require.NoError(t, err)
			require.Equal(t, 10, info.Pending, "tasks after a refused re-run")
			after, err := runs.LoadRecord(ctx, r.Client, prefix, "bound")
			require.NoError(t, err)
			require.Equal(t, rec, after, "record unchanged")
		})
	}
	st, err = first.Enqueue(ctx, "bound", input.Random(1, 95, 1000), 95)
	require.NoError(t, err)
	require.Equal(t, runs.EnqueueStats{Batches: 10, Queued: 10}, st)
}

// TestResultsListDelete follows two runs through WriteResults, List and
// Delete.
func TestResultsListDelete(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	queue, prefix := r.Namespace(t)
	ctx := context.Background()
	p := newProducer(t, r, queue, prefix, nil)
	p.BatchSize = 2
	_, err := p.Enqueue(ctx, "older", input.Random(1, 5, 100), 5)
	require.NoError(t, err)
	time.Sleep(2 * time.Millisecond) // the index orders runs by creation time in ms
	_, err = p.Enqueue(ctx, "newer", input.Random(2, 3, 100), 3)
	require.NoError(t, err)
	nums := integersOf(t, input.Random(1, 5, 100))
	for seq := range uint64(3) {
		save(t, p, "older", seq, nums[2*seq:min(2*seq+2, 5)]...)
	}
	save(t, p, "newer", 1, 7)

	rec, err := runs.LoadRecord(ctx, r.Client, prefix, "older")
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, runs.WriteResults(ctx, p.Store, rec, &out))
	var want strings.Builder
	for _, n := range nums {
		fmt.Fprintf(&want, "%d\t%b\n", n, n)
	}
	require.Equal(t, want.String(), out.String())
	newer, err := runs.LoadRecord(ctx, r.Client, prefix, "newer")
	require.NoError(t, err)
	err = runs.WriteResults(ctx, p.Store, newer, &out)
	require.ErrorContains(t, err, "batch newer:0")

	list, err := runs.List(ctx, p.Store)
	require.NoError(t, err)
	require.Len(t, list, 2)
	require.Equal(t, []string{"newer", "older"}, []string{list[0].RunID, list[1].RunID}, "newest first")
	require.Equal(t, []int{1, 3}, []int{list[0].Done, list[1].Done})
	require.Equal(t, []string{runs.RunRunning, runs.RunDone}, []string{list[0].Phase, list[1].Phase})

	st, err := runs.Delete(ctx, p.Store, p.Inspector, newer, time.Hour)
	require.NoError(t, err)
	require.Equal(t, runs.DeleteStats{Tasks: 2, Results: 2}, st, "two tasks; a result and the bitmap")
	info, err := p.Inspector.GetQueueInfo(queue)
	require.NoError(t, err)
	require.Equal(t, 3, info.Pending, "the older run's tasks are left")
	tomb, err := runs.LoadRecord(ctx, r.Client, prefix, "newer")
	require.NoError(t, err)
	require.Equal(t, runs.StateDeleted, tomb.State)
	require.Equal(t, newer.Fingerprint(), tomb.Fingerprint(), "fingerprint kept")
	_, err = p.Enqueue(ctx, "newer", input.Random(2, 3, 100), 3)
	var deleted *runs.DeletedError
	require.ErrorAs(t, err, &deleted)
	require.ErrorAs(t, runs.WriteResults(ctx, p.Store, tomb, &out), &deleted)

	// A record that expired is pruned from the index.
	require.NoError(t, r.Client.Del(ctx, base.RecordKey(prefix, "older")).Err())
	list, err = runs.List(ctx, p.Store)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, "newer", list[0].RunID)
	require.Equal(t, runs.RunDeleted, list[0].Phase)
	left, err := r.Client.ZRange(ctx, base.RunsKey(prefix), 0, -1).Result()
	require.NoError(t, err)
	require.Equal(t, []string{"newer"}, left)
}
