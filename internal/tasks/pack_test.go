package tasks_test

import (
	"bitqueue/fixture"
	"bitqueue/internal/base"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/tasks"
)

// refPack is the straightforward bit writer the result contract describes:
// each integer in width bits, most significant bit first, one bit at a time.
func refPack(nums []uint64) (width int, out []byte) {
	width = 1
	for _, n := range nums {
		width = max(width, bits.Len64(n))
	}
	out = make([]byte, (len(nums)*width+7)/8)
	pos := 0
	for _, n := range nums {
		for j := width - 1; j >= 0; j-- {
			if n>>j&1 == 1 {
				out[pos/8] |= 0x80 >> (pos % 8)
			}
			pos++
		}
	}
	return width, out
}

// checkPacked checks r, packed from nums by a cache of 2^k entries, against
// every clause of the result contract.
func checkPacked(t *testing.T, k int, nums []uint64, r base.Result, misses int) {
	t.Helper()
	width, want := refPack(nums)
	require.Equal(t, len(nums), r.Count, "Count")
	require.Equal(t, width, r.Width, "Width is the bit length of the largest, at least 1")
	require.Len(t, r.Bits, (len(nums)*width+7)/8, "len(Bits) = ceil(Count·Width/8)")
	require.Equal(t, want, r.Bits, "Bits")
	if pad := len(nums) * width % 8; pad != 0 {
		require.Zero(t, r.Bits[len(r.Bits)-1]&(1<<(8-pad)-1), "padding bits are zero")
	}
	wantMisses := 0
	for i, n := range nums {
		if n >= 1<<k {
			wantMisses++
		}
		if got := r.Row(i); got != n {
			require.Equal(t, n, got, "Row(%d)", i)
		}
		if got := r.Bitstring(i); got != strconv.FormatUint(n, 2) {
			require.Equal(t, strconv.FormatUint(n, 2), got, "Bitstring(%d)", i)
		}
	}
	require.Equal(t, wantMisses, misses, "misses")
}

func TestPackGolden(t *testing.T) {
	t.Parallel()
	c := fixture.Cache(t, 4)
	// 5, 0, 2 in 3 bits: 101 000 010, then 7 padding bits.
	r, misses := tasks.Pack(c, []uint64{5, 0, 2}, nil)
	require.Equal(t, base.Result{Count: 3, Width: 3, Bits: []byte{0xa1, 0x00}}, r)
	require.Zero(t, misses)
	require.Equal(t, "101", r.Bitstring(0))
	require.Equal(t, "0", r.Bitstring(1))
	require.Equal(t, "10", r.Bitstring(2))
}

func TestPackEdgeCases(t *testing.T) {
	t.Parallel()
	c := fixture.Cache(t, 8)
	tests := []struct {
		name string
		nums []uint64
	}{
		{"one zero", []uint64{0}},
		{"zeros", make([]uint64, 17)},
		{"one 2^63-1", []uint64{math.MaxInt64}},
		{"eight bits exactly", []uint64{255, 1}},
		{"64 one-bit rows", append(make([]uint64, 63), 1)},
		{"65 one-bit rows", append(make([]uint64, 64), 1)},
		{"width 32, rows on word boundaries", []uint64{1 << 31, 1, 2, 3, 4}},
		{"width 63, all ones", []uint64{math.MaxInt64, math.MaxInt64, math.MaxInt64}},
		{"cache edge", []uint64{255, 256, 0, 257}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, misses := tasks.Pack(c, tt.nums, nil)
			checkPacked(t, 8, tt.nums, r, misses)
		})
	}
	t.Run("empty", func(t *testing.T) {
		t.Parallel()
		r, misses := tasks.Pack(c, nil, nil)
		require.Equal(t, 0, r.Count)
		require.Equal(t, 1, r.Width)
		require.Empty(t, r.Bits)
		require.Zero(t, misses)
	})
}

func TestPackRandom(t *testing.T) {
	t.Parallel()
	for _, k := range []int{1, 12, 20} {
		c := fixture.Cache(t, k)
		for width := 1; width <= 63; width++ {
			t.Run(fmt.Sprintf("k=%d/width=%d", k, width), func(t *testing.T) {
				t.Parallel()
				rng := rand.New(rand.NewPCG(uint64(k), uint64(width)))
				for range 20 {
					nums := make([]uint64, 1+rng.IntN(200))
					for i := range nums {
						// Random bit lengths up to width, so rows of every
						// length (and both hits and misses) show up.
						nums[i] = rng.Uint64N(1<<width) >> rng.IntN(width)
					}
					nums[rng.IntN(len(nums))] |= 1 << (width - 1)
					r, misses := tasks.Pack(c, nums, nil)
					require.Equal(t, width, r.Width)
					checkPacked(t, k, nums, r, misses)
				}
			})
		}
	}
}

func TestPackReusesBuffer(t *testing.T) {
	t.Parallel()
	c := fixture.Cache(t, 8)
	nums := fixture.RandomNums(5, 1001, 1<<13)
	width, want := refPack(nums)

	// A dirty buffer large enough is reused, and its old contents never
	// leak into the result.
	buf := make([]byte, len(want)+64)
	for i := range buf {
		buf[i] = 0xff
	}
	r, misses := tasks.Pack(c, nums, buf)
	checkPacked(t, 8, nums, r, misses)
	require.Same(t, &buf[0], &r.Bits[0], "Pack reuses buf")
	require.Equal(t, width, r.Width)

	// A buffer too small is replaced.
	small := make([]byte, 3)
	r, misses = tasks.Pack(c, nums, small)
	checkPacked(t, 8, nums, r, misses)
	require.NotSame(t, &small[0], &r.Bits[0])

	// Packing a shorter batch into the same buffer leaves no stale bits.
	short := []uint64{1, 0, 1}
	r, misses = tasks.Pack(c, short, buf)
	checkPacked(t, 8, short, r, misses)
}

func BenchmarkPack(b *testing.B) { benchPack(b, 20, 1, 11) }

// BenchmarkPackBatches packs 1,024 different batches of 1,000 random
// integers in turn, as a worker does: their lookups spread over the whole
// cache instead of hitting the same 1,000 entries again and again.
func BenchmarkPackBatches(b *testing.B) { benchPack(b, 20, 1024, 100) }

// BenchmarkPackDirect packs the same batch as BenchmarkPack with a cache of
// 2 entries, so that every integer is computed with math/bits instead of
// looked up.
func BenchmarkPackDirect(b *testing.B) { benchPack(b, 1, 1, 11) }

// benchPack packs n batches of 1,000 random integers below 2^20, drawn from
// seeds seed, seed+1, …, in turn, with a cache of 2^cacheBits entries,
// reusing one buffer as a worker does, and reports ints/s.
func benchPack(b *testing.B, cacheBits, n int, seed uint64) {
	b.Helper()
	c := fixture.Cache(b, cacheBits)
	batches := make([][]uint64, n)
	for i := range batches {
		batches[i] = fixture.RandomNums(seed+uint64(i), 1000, 1<<20)
	}
	var buf []byte
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		r, _ := tasks.Pack(c, batches[i%n], buf)
		buf = r.Bits[:cap(r.Bits)]
		i++
	}
	fixture.ReportInts(b, 1000)
}
