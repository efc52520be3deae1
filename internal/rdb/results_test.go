package rdb_test

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/fixture"
	"bitqueue/internal/base"
	"bitqueue/internal/cache"
	"bitqueue/internal/rdb"
	"bitqueue/internal/tasks"
	"bitqueue/redistest"
)

const ttl = time.Hour

// newStore returns a store on the test's Redis, under a key prefix of its own.
func newStore(t *testing.T) (store, *redistest.Redis, string) {
	t.Helper()
	r := redistest.Start(t)
	_, prefix := r.Namespace(t)
	return store{rdb.New(r.Client, prefix), ttl}, r, prefix
}

// pack returns the result of nums.
func pack(t *testing.T, nums ...uint64) base.Result {
	t.Helper()
	c, err := cache.New(8)
	require.NoError(t, err)
	r, _ := tasks.Pack(c, nums, nil)
	return r
}

// requireTTL checks that key expires in (0, want].
func requireTTL(t *testing.T, r *redistest.Redis, key string, want time.Duration) {
	t.Helper()
	if r.Embedded != nil {
		require.Equal(t, want, r.Embedded.TTL(key), "TTL of %s", key)
		return
	}
	got, err := r.Client.PTTL(context.Background(), key).Result()
	require.NoError(t, err)
	require.Positive(t, got, "TTL of %s", key)
	require.LessOrEqual(t, got, want, "TTL of %s", key)
}

func TestSaveLoad(t *testing.T) {
	t.Parallel()
	s, _, _ := newStore(t)
	ctx := context.Background()
	tests := []struct {
		name string
		nums []uint64
	}{
		{"one zero", []uint64{0}},
		{"small", []uint64{5, 0, 2}},
		{"2^63-1", []uint64{math.MaxInt64, 1}},
		{"bytes of every value", fixture.RandomNums(1, 2000, 256)},
		{"max batch", fixture.RandomNums(2, base.MaxBatch, math.MaxInt64)},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want := pack(t, tt.nums...)
			require.NoError(t, s.Save(ctx, "run-1", uint64(i), want))
			got, err := s.Load(ctx, "run-1", uint64(i))
			require.NoError(t, err)
			require.Equal(t, want, got)
			fixture.RequireRows(t, got, tt.nums)
		})
	}
}

func TestSaveHashLayout(t *testing.T) {
	t.Parallel()
	s, r, prefix := newStore(t)
	ctx := context.Background()
	res := pack(t, 17, 3, 31) // 3 rows of 5 bits
	require.NoError(t, s.Save(ctx, "run-1", 9, res))

	key := prefix + ":result:run-1:9"
	h, err := r.Client.HGetAll(ctx, key).Result()
	require.NoError(t, err)
	require.Equal(t, map[string]string{"v": "1", "count": "3", "width": "5", "bits": string(res.Bits)}, h)
	requireTTL(t, r, key, ttl)

	// Saving again (a redelivered batch) leaves the same hash behind.
	require.NoError(t, s.Save(ctx, "run-1", 9, res))
	again, err := r.Client.HGetAll(ctx, key).Result()
	require.NoError(t, err)
	require.Equal(t, h, again)
	requireTTL(t, r, key, ttl)
}

func TestSaveReplaces(t *testing.T) {
	t.Parallel()
	s, r, prefix := newStore(t)
	ctx := context.Background()
	key := prefix + ":result:run-1:0"
	// Whatever the key held, a stale field or a TTL-less value, is replaced.
	require.NoError(t, r.Client.HSet(ctx, key, "stale", "x", "count", "999").Err())
	res := pack(t, 1, 2, 3)
	require.NoError(t, s.Save(ctx, "run-1", 0, res))
	h, err := r.Client.HGetAll(ctx, key).Result()
	require.NoError(t, err)
	require.Equal(t, map[string]string{"v": "1", "count": "3", "width": "2", "bits": string(res.Bits)}, h)
	requireTTL(t, r, key, ttl)

	require.NoError(t, r.Client.Set(ctx, key, "a string", 0).Err())
	require.NoError(t, s.Save(ctx, "run-1", 0, res))
	got, err := s.Load(ctx, "run-1", 0)
	require.NoError(t, err)
	require.Equal(t, res, got)
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	s, r, prefix := newStore(t)
	ctx := context.Background()

	_, err := s.Load(ctx, "run-1", 5)
	require.ErrorIs(t, err, rdb.ErrNotFound)
	require.Contains(t, err.Error(), prefix+":result:run-1:5")

	key := prefix + ":result:run-1:6"
	require.NoError(t, r.Client.HSet(ctx, key, "v", "2", "count", "1", "width", "1", "bits", "\x80").Err())
	_, err = s.Load(ctx, "run-1", 6)
	require.ErrorIs(t, err, base.ErrBadResult)
	require.NotErrorIs(t, err, rdb.ErrNotFound)
	require.Contains(t, err.Error(), key)

	require.NoError(t, r.Client.Set(ctx, prefix+":result:run-1:7", "x", 0).Err())
	_, err = s.Load(ctx, "run-1", 7)
	require.Error(t, err, "a key of the wrong type")
	require.NotErrorIs(t, err, rdb.ErrNotFound)

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = s.Load(cancelled, "run-1", 0)
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, s.Save(cancelled, "run-1", 0, pack(t, 1)), context.Canceled)
	_, err = s.Exist(cancelled, "run-1", []uint64{0})
	require.ErrorIs(t, err, context.Canceled)
}

func TestExist(t *testing.T) {
	t.Parallel()
	s, _, _ := newStore(t)
	ctx := context.Background()
	const n = 2500
	// Present: both ends and both sides of each 1000-key round trip.
	present := map[uint64]bool{0: true, 1: true, 999: true, 1000: true, 1001: true, 1999: true, 2000: true, 2499: true}
	rng := rand.New(rand.NewPCG(5, 6))
	for range 100 {
		present[rng.Uint64N(n)] = true
	}
	res := pack(t, 1)
	for seq := range present {
		require.NoError(t, s.Save(ctx, "run-1", seq, res))
	}
	// Another run's results do not count.
	require.NoError(t, s.Save(ctx, "run-2", 500, res))

	seqs := make([]uint64, n)
	want := make([]bool, n)
	for i := range seqs {
		seqs[i] = uint64(i)
		want[i] = present[uint64(i)]
	}
	got, err := s.Exist(ctx, "run-1", seqs)
	require.NoError(t, err)
	require.Equal(t, want, got)

	// Any order, repeats included.
	got, err = s.Exist(ctx, "run-1", []uint64{2499, 500, 0, 0, 1 << 40})
	require.NoError(t, err)
	require.Equal(t, []bool{true, present[500], true, true, false}, got)

	got, err = s.Exist(ctx, "run-1", nil)
	require.NoError(t, err)
	require.Empty(t, got)
}

func TestSaveConcurrent(t *testing.T) {
	t.Parallel()
	s, _, _ := newStore(t)
	ctx := context.Background()
	errs := make(chan error, 50)
	for i := range 50 {
		go func() { errs <- s.Save(ctx, "run-c", uint64(i%10), pack(t, uint64(i%10))) }()
	}
	for range 50 {
		require.NoError(t, <-errs)
	}
	for seq := range uint64(10) {
		got, err := s.Load(ctx, "run-c", seq)
		require.NoError(t, err)
		require.Equal(t, pack(t, seq), got)
	}
}

func BenchmarkSaveLoad(b *testing.B) {
	r := redistest.Start(b)
	_, prefix := r.Namespace(b)
	s := store{rdb.New(r.Client, prefix), ttl}
	c, err := cache.New(20)
	require.NoError(b, err)
	res, _ := tasks.Pack(c, fixture.RandomNums(3, 1000, 1<<20), nil)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Save(ctx, "bench", 0, res); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Load(ctx, "bench", 0); err != nil {
			b.Fatal(err)
		}
	}
	fixture.ReportInts(b, res.Count)
}

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
