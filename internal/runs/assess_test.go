package runs_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/base"
	"bitqueue/internal/input"
	"bitqueue/internal/runs"
)

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

// TestFreshRecordClearsLeftovers reuses a run id whose record is gone while
// its results and done marks live: the new run deletes them first and
// enqueues every batch, so that none of the earlier input's results is
// adopted.
func TestFreshRecordClearsLeftovers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, runs.Config{})
	ctx := context.Background()
	_, st := e.enqueue(t, "again", input.Random(1, 3, 100), 3)
	require.Equal(t, 3, st.Enqueued)
	_, err := e.db.Inspector().DeleteAllPendingTasks(e.queue) // converted meanwhile
	require.NoError(t, err)
	for seq := range uint64(3) {
		e.save(t, "again", seq, seq)
	}
	require.NoError(t, e.r.Client.Del(ctx, base.RecordKey(e.prefix, "again")).Err()) // expired

	_, st = e.enqueue(t, "again", input.Random(2, 3, 100), 3)
	require.Equal(t, runs.EnqueueStats{Batches: 3, Enqueued: 3}, st, "another input under the reused id starts afresh")
	n, err := e.r.Client.Exists(ctx, base.ResultKey(e.prefix, "again", 0), base.ResultKey(e.prefix, "again", 2), base.DoneKey(e.prefix, "again")).Result()
	require.NoError(t, err)
	require.Zero(t, n, "the earlier run's results and marks are gone")
}
