package rdb_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/base"
	"bitqueue/internal/rdb"
)

// TestSaveMarksDone checks that saving a batch's result sets its bit in the
// run's done bitmap, with the results' TTL, and that a batch saved twice (a
// redelivery) is counted once.
func TestSaveMarksDone(t *testing.T) {
	t.Parallel()
	s, r, prefix := newStore(t)
	ctx := context.Background()
	n, err := s.DoneCount(ctx, "run-1")
	require.NoError(t, err)
	require.Zero(t, n, "no bitmap yet")
	bits, err := s.DoneBits(ctx, "run-1")
	require.NoError(t, err)
	require.Empty(t, bits)

	for _, seq := range []uint64{0, 9, 9, 1000, 0} {
		require.NoError(t, s.Save(ctx, "run-1", seq, pack(t, seq)))
	}
	n, err = s.DoneCount(ctx, "run-1")
	require.NoError(t, err)
	require.Equal(t, 3, n, "three batches, two of them saved twice")
	requireTTL(t, r, base.DoneKey(prefix, "run-1"), ttl)

	bits, err = s.DoneBits(ctx, "run-1")
	require.NoError(t, err)
	for seq := range uint64(1010) {
		require.Equal(t, seq == 0 || seq == 9 || seq == 1000, bits.Done(seq), "bit %d", seq)
	}
	require.False(t, bits.Done(1<<40), "a bit past the end")

	// A range is read from the byte that holds its first bit.
	part, err := s.DoneRange(ctx, "run-1", 996, 1010)
	require.NoError(t, err)
	require.Len(t, part, 2)
	require.True(t, part.Done(1000-992))
	require.False(t, part.Done(999-992))
	none, err := s.DoneRange(ctx, "run-1", 5000, 6000)
	require.NoError(t, err)
	require.False(t, none.Done(0))
}

// TestLoadManyAndDeleteRun reads a run's results in one round trip, names
// the batch whose result is missing, then deletes them with the bitmap.
func TestLoadManyAndDeleteRun(t *testing.T) {
	t.Parallel()
	s, r, prefix := newStore(t)
	ctx := context.Background()
	for seq := range uint64(3) {
		require.NoError(t, s.Save(ctx, "run-1", seq, pack(t, seq, seq+1)))
	}
	got, err := s.LoadMany(ctx, "run-1", []uint64{2, 0, 1})
	require.NoError(t, err)
	for i, seq := range []uint64{2, 0, 1} {
		require.Equal(t, pack(t, seq, seq+1), got[i])
	}
	_, err = s.LoadMany(ctx, "run-1", []uint64{0, 5, 1})
	require.ErrorIs(t, err, rdb.ErrNotFound)
	require.ErrorContains(t, err, "batch run-1:5")
	require.ErrorContains(t, err, base.ResultKey(prefix, "run-1", 5))

	n, err := s.DeleteRun(ctx, "run-1", 5)
	require.NoError(t, err)
	require.Equal(t, 4, n, "three results and the bitmap")
	left, err := r.Client.Exists(ctx, base.ResultKey(prefix, "run-1", 0), base.DoneKey(prefix, "run-1")).Result()
	require.NoError(t, err)
	require.Zero(t, left)
}

// TestDoneBitmapNeverOutlivesItsResults saves a run's batches with results
// of different lifetimes: the bitmap expires with the first result it
// vouches for, not with the last; a repaired mark makes it expire no later
// than the result it was repaired from; Unmark clears marks; Lifetimes
// tells a missing result from one that never expires.
func TestDoneBitmapNeverOutlivesItsResults(t *testing.T) {
	t.Parallel()
	s, r, prefix := newStore(t)
	ctx := context.Background()
	done := base.DoneKey(prefix, "run-1")
	require.NoError(t, s.Save(ctx, "run-1", 0, pack(t, 1)))
	longer := store{s.RDB, 3 * ttl}
	require.NoError(t, longer.Save(ctx, "run-1", 1, pack(t, 2)))
	requireTTL(t, r, done, ttl) // the first result's, not the later one's

	require.NoError(t, s.RDB.MarkDone(ctx, "run-1", 10*time.Minute, 2))
	requireTTL(t, r, done, 10*time.Minute)
	require.NoError(t, s.RDB.MarkDone(ctx, "run-1", rdb.Forever, 3))
	requireTTL(t, r, done, 10*time.Minute) // no expiry to keep: unchanged

	require.NoError(t, s.Unmark(ctx, "run-1", 2, 3))
	n, err := s.DoneCount(ctx, "run-1")
	require.NoError(t, err)
	require.Equal(t, 2, n)

	require.NoError(t, r.Client.HSet(ctx, base.ResultKey(prefix, "run-1", 4), "v", 1).Err())
	left, err := s.Lifetimes(ctx, "run-1", []uint64{0, 1, 4, 5})
	require.NoError(t, err)
	require.InDelta(t, ttl, left[0], float64(time.Minute))
	require.InDelta(t, 3*ttl, left[1], float64(time.Minute))
	require.Equal(t, []time.Duration{rdb.Forever, rdb.Missing}, left[2:])
	require.Equal(t, 10*time.Minute, rdb.Shortest(time.Hour, rdb.Forever, 10*time.Minute, rdb.Missing))
	require.Equal(t, rdb.Forever, rdb.Shortest(rdb.Forever))
}
