package rdb_test

import (
	"bitqueue/fixture"
	"context"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

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
			for j, n := range tt.nums {
				if got.Row(j) != n {
					require.Equal(t, n, got.Row(j), "row %d", j)
				}
			}
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
	b.ReportMetric(float64(res.Count)*float64(b.N)/b.Elapsed().Seconds(), "ints/s")
}
