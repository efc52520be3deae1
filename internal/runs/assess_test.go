package runs_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/base"
	"bitqueue/internal/input"
	"bitqueue/internal/runs"
	"bitqueue/redistest"
)

// TestStatusClearsStaleMarks marks a batch done whose result is gone: status
// counts it lost, not done, and clears its mark; a result found without its
// mark counts as done and gets its mark.
func TestStatusClearsStaleMarks(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	queue, prefix := r.Namespace(t)
	p := newProducer(t, r, queue, prefix, nil)
	ctx := context.Background()
	src := input.Random(3, 4, 100)
	rec := createRecordOf(t, p, "stale", src, 4)
	save(t, p, "stale", 0, 0)
	save(t, p, "stale", 1, 1)
	require.NoError(t, r.Client.Del(ctx, base.ResultKey(prefix, "stale", 1)).Err()) // deleted behind the run's back
	save(t, p, "stale", 2, 2)
	require.NoError(t, r.Client.SetBit(ctx, base.DoneKey(prefix, "stale"), 2, 0).Err()) // a result without its mark

	st, err := runs.GetStatus(ctx, p.Store, p.Inspector, rec)
	require.NoError(t, err)
	require.Equal(t, []int{2, 0, 0, 2}, []int{st.Done, st.Pending, st.Failed, st.Lost}, "done, pending, failed, lost")
	require.Equal(t, []string{"stale:1", "stale:3"}, st.LostIDs)
	bits, err := p.Store.DoneBits(ctx, "stale")
	require.NoError(t, err)
	require.Equal(t, []bool{true, false, true, false}, []bool{bits.Done(0), bits.Done(1), bits.Done(2), bits.Done(3)})
}

// TestFreshRecordClearsLeftovers reuses a run id whose record is gone while
// its results and done marks live: the new run deletes them first and
// enqueues every batch, so that none of the earlier input's results is
// adopted.
func TestFreshRecordClearsLeftovers(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	queue, prefix := r.Namespace(t)
	p := newProducer(t, r, queue, prefix, nil)
	ctx := context.Background()
	st, err := p.Enqueue(ctx, "again", input.Random(1, 3, 100), 3)
	require.NoError(t, err)
	require.Equal(t, 3, st.Enqueued)
	_, err = p.Inspector.DeleteAllPendingTasks(queue) // converted meanwhile
	require.NoError(t, err)
	for seq := range uint64(3) {
		save(t, p, "again", seq, seq)
	}
	require.NoError(t, r.Client.Del(ctx, base.RecordKey(prefix, "again")).Err()) // expired

	st, err = p.Enqueue(ctx, "again", input.Random(2, 3, 100), 3)
	require.NoError(t, err)
	require.Equal(t, runs.EnqueueStats{Batches: 3, Enqueued: 3}, st, "another input under the reused id starts afresh")
	n, err := r.Client.Exists(ctx, base.ResultKey(prefix, "again", 0), base.ResultKey(prefix, "again", 2), base.DoneKey(prefix, "again")).Result()
	require.NoError(t, err)
	require.Zero(t, n, "the earlier run's results and marks are gone")
}
