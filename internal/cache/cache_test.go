package cache_test

import (
	"bitqueue/fixture"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/cache"
)

// newCache builds the cache for k or fails the test.
func newCache(t testing.TB, k int) *cache.Cache {
	t.Helper()
	c, err := cache.New(k)
	require.NoError(t, err, "cache.New(%d)", k)
	return c
}

// checkLookup checks Lookup and AppendString of n against strconv.FormatUint.
// It tests each property with a plain comparison first so that exhaustive
// loops stay fast, and reports any mismatch through require.
func checkLookup(t *testing.T, c *cache.Cache, n uint64, wantHit bool) {
	t.Helper()
	want := strconv.FormatUint(n, 2)
	w, l, hit := c.Lookup(n)
	if hit != wantHit {
		require.Equal(t, wantHit, hit, "Lookup(%d) hit", n)
	}
	if l != len(want) {
		require.Equal(t, len(want), l, "Lookup(%d) length", n)
	}
	// The bitstring is left-aligned: its top l bits are n, the rest zero.
	if w>>(64-l) != n || l < 64 && w<<l != 0 {
		require.Failf(t, "Lookup word", "Lookup(%d) = %064b (length %d), want %s left-aligned then zeros", n, w, l, want)
	}
	if got := c.AppendString(nil, n); string(got) != want {
		require.Equal(t, want, string(got), "AppendString(nil, %d)", n)
	}
}

func TestLookupExhaustive(t *testing.T) {
	t.Parallel()
	for k := 1; k <= 16; k++ {
		t.Run(fmt.Sprintf("k=%d", k), func(t *testing.T) {
			t.Parallel()
			c := newCache(t, k)
			for n := range uint64(1) << k {
				checkLookup(t, c, n, true)
			}
			// The integers just above the cache are misses and still right.
			for n := uint64(1) << k; n < uint64(1)<<(k+1); n++ {
				checkLookup(t, c, n, false)
			}
		})
	}
}

func TestLookupBoundaries(t *testing.T) {
	t.Parallel()
	for _, k := range []int{1, 20} {
		c := newCache(t, k)
		top := uint64(1) << k
		tests := []struct {
			name string
			n    uint64
			hit  bool
		}{
			{"zero", 0, true},
			{"one", 1, true},
			{"2^k-1", top - 1, true},
			{"2^k", top, false},
			{"2^k+1", top + 1, false},
			{"2^32", 1 << 32, false},
			{"2^62", 1 << 62, false},
			{"2^63-1", math.MaxInt64, false},
			// Above the payload's range, Lookup is still exact.
			{"2^63", 1 << 63, false},
			{"2^64-1", math.MaxUint64, false},
		}
		for _, tt := range tests {
			t.Run(fmt.Sprintf("k=%d/%s", k, tt.name), func(t *testing.T) {
				t.Parallel()
				checkLookup(t, c, tt.n, tt.hit)
			})
		}
	}
}

func TestLookupRandomK20(t *testing.T) {
	t.Parallel()
	c := newCache(t, 20)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100_000 {
		n := rng.Uint64N(1 << 20)
		checkLookup(t, c, n, true)
	}
	for range 100_000 {
		// Random bit lengths, so that every length above the cache shows up.
		n := rng.Uint64() >> rng.IntN(64)
		checkLookup(t, c, n, n < 1<<20)
	}
}

func TestAppendStringAppends(t *testing.T) {
	t.Parallel()
	c := newCache(t, 4)
	dst := []byte("x=")
	dst = c.AppendString(dst, 5)
	dst = append(dst, ',')
	dst = c.AppendString(dst, 1<<40+1)
	require.Equal(t, "x=101,1"+fmt.Sprintf("%040b", 1), string(dst))
}

func TestLen(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		n    uint64
		want int
	}{
		{"zero", 0, 1},
		{"one", 1, 1},
		{"two", 2, 2},
		{"255", 255, 8},
		{"256", 256, 9},
		{"2^63-1", math.MaxInt64, 63},
		{"2^63", 1 << 63, 64},
		{"2^64-1", math.MaxUint64, 64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, cache.Len(tt.n))
			require.Equal(t, len(strconv.FormatUint(tt.n, 2)), cache.Len(tt.n))
		})
	}
}

func TestNewRange(t *testing.T) {
	t.Parallel()
	require.Equal(t, 1, cache.MinBits)
	require.Equal(t, 28, cache.MaxBits)
	require.GreaterOrEqual(t, cache.DefaultBits, cache.MinBits)
	require.LessOrEqual(t, cache.DefaultBits, cache.MaxBits)

	// k = 28 is in range but allocates 2 GiB, so only its neighbour outside
	// the range is built here.
	for _, k := range []int{0, -1, 29, math.MinInt, math.MaxInt} {
		t.Run(fmt.Sprintf("k=%d", k), func(t *testing.T) {
			t.Parallel()
			c, err := cache.New(k)
			require.Error(t, err)
			require.Nil(t, c)
			require.Contains(t, err.Error(), "[1, 28]", "the error names the allowed range")
			require.Contains(t, err.Error(), strconv.Itoa(k), "the error names the rejected value")

			c, s, err := cache.Build(k)
			require.Error(t, err)
			require.Nil(t, c)
			require.Zero(t, s)
			require.Contains(t, err.Error(), "[1, 28]")
		})
	}
}

func TestStats(t *testing.T) {
	t.Parallel()
	for _, k := range []int{1, 2, 8, 16, 20} {
		t.Run(fmt.Sprintf("k=%d", k), func(t *testing.T) {
			t.Parallel()
			want := cache.Stats{Bits: k, Entries: 1 << k, Bytes: cache.EntryBytes << k}
			require.Equal(t, want, newCache(t, k).Stats())

			c, s, err := cache.Build(k)
			require.NoError(t, err)
			require.Positive(t, s.Build, "Build measures the build time")
			s.Build = 0
			require.Equal(t, want, s)
			require.Equal(t, want, c.Stats())
			checkLookup(t, c, 1<<k-1, true)
			checkLookup(t, c, 1<<k, false)
		})
	}
}

func TestConcurrentLookups(t *testing.T) {
	t.Parallel()
	c := newCache(t, 12)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			for range 5000 {
				n := rng.Uint64N(1 << 14)
				w, l, hit := c.Lookup(n)
				if hit != (n < 1<<12) || l != cache.Len(n) || w>>(64-l) != n {
					t.Errorf("Lookup(%d) = %x, %d, %v", n, w, l, hit)
					return
				}
			}
		})
	}
	wg.Wait()
}

func FuzzLookup(f *testing.F) {
	for _, n := range []uint64{0, 1, 2, 1<<10 - 1, 1 << 10, math.MaxInt64, math.MaxUint64} {
		f.Add(n)
	}
	c, err := cache.New(10)
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, n uint64) {
		checkLookup(t, c, n, n < 1<<10)
	})
}

var sink uint64

// lookupInts is how many random integers the lookup benchmarks go through:
// enough (2 MiB of them, read in order) that their entries are spread over
// the whole cache rather than staying in the CPU's caches from one
// iteration to the next, as the integers of a worker's batches do.
const lookupInts = 1 << 18

// BenchmarkLookup and BenchmarkDirect compare the cache with computing the
// same left-aligned bitstring from math/bits, over random integers < 2^20;
// BenchmarkLookupWords measures the cache's former layout on the same
// integers.
func BenchmarkLookup(b *testing.B) {
	c := newCache(b, 20)
	nums := fixture.RandomNums(42, lookupInts, 1<<20)
	b.ReportAllocs()
	var acc uint64
	for b.Loop() {
		for _, n := range nums {
			w, l, _ := c.Lookup(n)
			acc += w | uint64(l)
		}
	}
	sink = acc
	fixture.ReportInts(b, len(nums))
	b.ReportMetric(float64(c.Stats().Bytes)/(1<<20), "MiB")
}

// wordLayout is the cache's former layout, kept to measure what one-byte
// entries buy: one 8-byte word per entry holding the bitstring left-aligned
// and its length in the low 6 bits, 8 MiB for 2^20 entries.
type wordLayout []uint64

func newWordLayout(k int) wordLayout {
	w := make(wordLayout, 1<<k)
	for n := range w {
		l := cache.Len(uint64(n))
		w[n] = uint64(n)<<(64-l)&^63 | uint64(l)
	}
	return w
}

func BenchmarkLookupWords(b *testing.B) {
	w := newWordLayout(20)
	nums := fixture.RandomNums(42, lookupInts, 1<<20)
	b.ReportAllocs()
	var acc uint64
	for b.Loop() {
		for _, n := range nums {
			e := w[n]
			acc += e&^63 | e&63
		}
	}
	sink = acc
	fixture.ReportInts(b, len(nums))
	b.ReportMetric(float64(8*len(w))/(1<<20), "MiB")
}

// TestWordLayoutMatches keeps BenchmarkLookupWords honest: the former layout
// gives the same bitstrings as Lookup.
func TestWordLayoutMatches(t *testing.T) {
	t.Parallel()
	const k = 12
	c, w := newCache(t, k), newWordLayout(k)
	for n := range uint64(1 << k) {
		bs, l, _ := c.Lookup(n)
		require.Equal(t, bs, w[n]&^63, "bitstring of %d", n)
		require.Equal(t, l, int(w[n]&63), "length of %d", n)
	}
}

func BenchmarkDirect(b *testing.B) {
	nums := fixture.RandomNums(42, lookupInts, 1<<20)
	b.ReportAllocs()
	var acc uint64
	for b.Loop() {
		for _, n := range nums {
			l := max(bits.Len64(n), 1)
			acc += n<<(64-l) | uint64(l)
		}
	}
	sink = acc
	fixture.ReportInts(b, len(nums))
}

func BenchmarkAppendString(b *testing.B) {
	c := newCache(b, 20)
	nums := fixture.RandomNums(42, 4096, 1<<20)
	dst := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		for _, n := range nums {
			dst = c.AppendString(dst[:0], n)
		}
	}
	fixture.ReportInts(b, len(nums))
}

func BenchmarkAppendUintBase2(b *testing.B) {
	nums := fixture.RandomNums(42, 4096, 1<<20)
	dst := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		for _, n := range nums {
			dst = strconv.AppendUint(dst[:0], n, 2)
		}
	}
	fixture.ReportInts(b, len(nums))
}

// BenchmarkBuild measures building the default k = 20 cache.
func BenchmarkBuild(b *testing.B) {
	const k = 20
	var s cache.Stats
	b.ReportAllocs()
	for b.Loop() {
		c, err := cache.New(k)
		if err != nil {
			b.Fatal(err)
		}
		s = c.Stats()
	}
	b.ReportMetric(float64(s.Bytes)/(1<<20), "MiB")
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/build")
	fixture.ReportInts(b, s.Entries)
}
