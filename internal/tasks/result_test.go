package tasks_test

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/cache"
	"bitqueue/internal/tasks"
)

// newCache builds the cache for k or fails the test.
func newCache(t testing.TB, k int) *cache.Cache {
	t.Helper()
	c, err := cache.New(k)
	require.NoError(t, err)
	return c
}

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
func checkPacked(t *testing.T, k int, nums []uint64, r tasks.Result, misses int) {
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
	c := newCache(t, 4)
	// 5, 0, 2 in 3 bits: 101 000 010, then 7 padding bits.
	r, misses := tasks.Pack(c, []uint64{5, 0, 2}, nil)
	require.Equal(t, tasks.Result{Count: 3, Width: 3, Bits: []byte{0xa1, 0x00}}, r)
	require.Zero(t, misses)
	require.Equal(t, "101", r.Bitstring(0))
	require.Equal(t, "0", r.Bitstring(1))
	require.Equal(t, "10", r.Bitstring(2))
}

func TestPackEdgeCases(t *testing.T) {
	t.Parallel()
	c := newCache(t, 8)
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
		c := newCache(t, k)
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
	c := newCache(t, 8)
	nums := randomNums(5, 1001, 1<<13)
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

// hash is a result as HGETALL returns it.
func hash(r tasks.Result) map[string]string {
	return map[string]string{
		tasks.FieldVersion: strconv.Itoa(tasks.ResultVersion),
		tasks.FieldCount:   strconv.Itoa(r.Count),
		tasks.FieldWidth:   strconv.Itoa(r.Width),
		tasks.FieldBits:    string(r.Bits),
	}
}

func TestResultFieldNames(t *testing.T) {
	t.Parallel()
	// The hash layout is a public contract.
	require.Equal(t, map[string]string{"v": "1", "count": "3", "width": "3", "bits": "\xa1\x00"},
		hash(tasks.Result{Count: 3, Width: 3, Bits: []byte{0xa1, 0x00}}))
}

func TestParseResultAccepts(t *testing.T) {
	t.Parallel()
	c := newCache(t, 10)
	tests := []struct {
		name string
		nums []uint64
	}{
		{"one zero", []uint64{0}},
		{"one one", []uint64{1}},
		{"golden", []uint64{5, 0, 2}},
		{"2^63-1", []uint64{math.MaxInt64, 0}},
		{"random width 20", randomNums(1, 333, 1<<20)},
		{"random width 41", append(randomNums(2, 100, 1<<40), 1<<40)},
		{"MaxBatch", randomNums(3, tasks.MaxBatch, math.MaxInt64)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			packed, _ := tasks.Pack(c, tt.nums, nil)
			r, err := tasks.ParseResult(hash(packed))
			require.NoError(t, err)
			require.Equal(t, packed, r)
			for i, n := range tt.nums {
				if r.Row(i) != n {
					require.Equal(t, n, r.Row(i), "Row(%d)", i)
				}
			}
		})
	}
}

func TestParseResultRejects(t *testing.T) {
	t.Parallel()
	c := newCache(t, 10)
	// 3 rows of 5 bits: 15 bits in 2 bytes, 1 padding bit.
	valid, _ := tasks.Pack(c, []uint64{17, 3, 31}, nil)
	require.Equal(t, 5, valid.Width)
	require.NoError(t, func() error { _, err := tasks.ParseResult(hash(valid)); return err }())

	with := func(f func(h map[string]string)) map[string]string {
		h := hash(valid)
		f(h)
		return h
	}
	set := func(field, v string) map[string]string {
		return with(func(h map[string]string) { h[field] = v })
	}
	tests := []struct {
		name string
		h    map[string]string
		want string
	}{
		{"nil", nil, "0 fields"},
		{"version 2", set("v", "2"), `version "2"`},
		{"version 0", set("v", "0"), `version "0"`},
		{"version 01", set("v", "01"), `version "01"`},
		{"version empty", set("v", ""), `version ""`},
		{"version missing", with(func(h map[string]string) { delete(h, "v") }), "3 fields"},
		{"count missing", with(func(h map[string]string) { delete(h, "count") }), "3 fields"},
		{"width missing", with(func(h map[string]string) { delete(h, "width") }), "3 fields"},
		{"bits missing", with(func(h map[string]string) { delete(h, "bits") }), "3 fields"},
		{"extra field", set("extra", "1"), "5 fields"},
		{"bits renamed", with(func(h map[string]string) { h["Bits"] = h["bits"]; delete(h, "bits") }), "bits is 0 bytes"},
		{"count renamed", with(func(h map[string]string) { h["n"] = h["count"]; delete(h, "count") }), `count ""`},
		{"count 01", set("count", "03"), `count "03"`},
		{"count +3", set("count", "+3"), `count "+3"`},
		{"count 0", set("count", "0"), `count "0"`},
		{"count -3", set("count", "-3"), `count "-3"`},
		{"count with a space", set("count", " 3"), `count " 3"`},
		{"count not a number", set("count", "three"), `count "three"`},
		{"count above MaxBatch", set("count", "100001"), `count "100001"`},
		{"count 2^63", set("count", "9223372036854775808"), `count "9223372036854775808"`},
		{"width 0", set("width", "0"), `width "0"`},
		{"width 64", set("width", "64"), `width "64"`},
		{"width 05", set("width", "05"), `width "05"`},
		{"width +5", set("width", "+5"), `width "+5"`},
		{"width empty", set("width", ""), `width ""`},
		{"bits one byte short", set("bits", string(valid.Bits[:1])), "bits is 1 bytes, count 3 × width 5 needs 2"},
		{"bits one byte long", set("bits", string(valid.Bits)+"\x00"), "bits is 3 bytes"},
		{"bits empty", set("bits", ""), "bits is 0 bytes"},
		{"count claims one row more", set("count", "4"), "count 4 × width 5 needs 3"},
		{"nonzero padding", set("bits", string([]byte{valid.Bits[0], valid.Bits[1] | 1})), "padding"},
		{"width one too large", hash(tasks.Result{Count: 2, Width: 6, Bits: []byte{0x44, 0x30}}), "width 6, but the largest row needs 5 bits"},
		{"width of zeros", hash(tasks.Result{Count: 3, Width: 2, Bits: []byte{0x00}}), "width 2, but the largest row needs 1 bits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := tasks.ParseResult(tt.h)
			require.ErrorIs(t, err, tasks.ErrBadResult)
			require.Contains(t, err.Error(), tt.want)
			require.Zero(t, r)
		})
	}
}

func FuzzParseResult(f *testing.F) {
	c, err := cache.New(8)
	require.NoError(f, err)
	for _, nums := range [][]uint64{{0}, {1}, {5, 0, 2}, {17, 3, 31}, {math.MaxInt64}, randomNums(1, 20, 1<<12)} {
		r, _ := tasks.Pack(c, nums, nil)
		h := hash(r)
		f.Add(h["v"], h["count"], h["width"], []byte(h["bits"]))
	}
	f.Add("1", "3", "5", []byte{0x8c, 0x7f})
	f.Add("1", "2", "6", []byte{0x44, 0x30})
	f.Add("1", "01", "1", []byte{0x80})
	f.Add("2", "1", "1", []byte{0x80})
	f.Fuzz(func(t *testing.T, v, count, width string, bits []byte) {
		r, err := tasks.ParseResult(map[string]string{"v": v, "count": count, "width": width, "bits": string(bits)})
		if err != nil {
			require.ErrorIs(t, err, tasks.ErrBadResult)
			return
		}
		require.Equal(t, "1", v)
		require.Equal(t, strconv.Itoa(r.Count), count)
		require.Equal(t, strconv.Itoa(r.Width), width)
		// A valid result is exactly what Pack makes of its rows.
		rows := make([]uint64, r.Count)
		for i := range rows {
			rows[i] = r.Row(i)
		}
		packed, _ := tasks.Pack(c, rows, nil)
		require.Equal(t, r.Width, packed.Width)
		require.Equal(t, bits, packed.Bits)
	})
}

func BenchmarkPack(b *testing.B) {
	c := newCache(b, 20)
	nums := randomNums(11, 1000, 1<<20)
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		r, _ := tasks.Pack(c, nums, buf)
		buf = r.Bits[:cap(r.Bits)]
	}
	reportInts(b, len(nums))
}

// BenchmarkPackBatches packs 1,024 different batches of 1,000 random
// integers in turn, as a worker does: their lookups spread over the whole
// cache instead of hitting the same 1,000 entries again and again.
func BenchmarkPackBatches(b *testing.B) {
	c := newCache(b, 20)
	batches := make([][]uint64, 1024)
	for i := range batches {
		batches[i] = randomNums(uint64(100+i), 1000, 1<<20)
	}
	var buf []byte
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		r, _ := tasks.Pack(c, batches[i%len(batches)], buf)
		buf = r.Bits[:cap(r.Bits)]
		i++
	}
	reportInts(b, 1000)
}

// BenchmarkPackDirect packs the same batch with a cache of 2 entries, so that
// every integer is computed with math/bits instead of looked up.
func BenchmarkPackDirect(b *testing.B) {
	c := newCache(b, 1)
	nums := randomNums(11, 1000, 1<<20)
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		r, _ := tasks.Pack(c, nums, buf)
		buf = r.Bits[:cap(r.Bits)]
	}
	reportInts(b, len(nums))
}

func BenchmarkParseResult(b *testing.B) {
	c := newCache(b, 20)
	r, _ := tasks.Pack(c, randomNums(11, 1000, 1<<20), nil)
	h := hash(r)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tasks.ParseResult(h); err != nil {
			b.Fatal(err)
		}
	}
	reportInts(b, r.Count)
}
