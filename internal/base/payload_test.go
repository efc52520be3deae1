package base_test

import (
	"encoding/binary"
	"fmt"
	"math"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"bitqueue/fixture"
	"bitqueue/internal/base"
)

// header builds the start of a payload by hand: version, run id, seq, count
// and width, each as given, so that tests can write invalid ones.
func header(version byte, runID string, seq, count uint64, width byte) []byte {
	p := []byte{version}
	p = binary.AppendUvarint(p, uint64(len(runID)))
	p = append(p, runID...)
	p = binary.AppendUvarint(p, seq)
	p = binary.AppendUvarint(p, count)
	return append(p, width)
}

func TestEncodeBatchGolden(t *testing.T) {
	t.Parallel()
	// The payload is a wire contract: pin its exact bytes.
	p := fixture.Payload(t, base.Batch{RunID: "ab", Seq: 300, Nums: []uint64{1, 256, 0}})
	require.Equal(t, []byte{
		1,           // version
		2, 'a', 'b', // run id
		0xac, 0x02, // seq 300
		3,    // count
		2,    // width
		0, 1, // 1
		1, 0, // 256
		0, 0, // 0
	}, p)
}

func TestBatchRoundTrip(t *testing.T) {
	t.Parallel()
	type test struct {
		name  string
		batch base.Batch
		width int
	}
	tests := []test{
		{"one integer", base.Batch{RunID: "run-1", Seq: 0, Nums: []uint64{42}}, 1},
		{"zero", base.Batch{RunID: "r", Seq: 1, Nums: []uint64{0}}, 1},
		{"2^63-1", base.Batch{RunID: "r", Seq: 2, Nums: []uint64{math.MaxInt64}}, 8},
		{"zero and 2^63-1", base.Batch{RunID: "r", Seq: 2, Nums: []uint64{0, math.MaxInt64, 0}}, 8},
		{"max batch", base.Batch{RunID: "big", Seq: 7, Nums: fixture.RandomNums(1, base.MaxBatch, math.MaxInt64)}, 8},
		{"max batch of zeros", base.Batch{RunID: "z", Seq: 7, Nums: make([]uint64, base.MaxBatch)}, 1},
		{"run id of 1 char", base.Batch{RunID: "x", Seq: 3, Nums: []uint64{1, 2, 3}}, 1},
		{"run id of 128 chars", base.Batch{RunID: strings.Repeat("aZ9._-", 22)[:128], Seq: 4, Nums: []uint64{1, 2, 3}}, 1},
		{"largest seq", base.Batch{RunID: "r", Seq: math.MaxUint64, Nums: []uint64{5}}, 1},
	}
	for w := 1; w <= 8; w++ {
		// The largest integer needing exactly w bytes, and the smallest.
		largest := uint64(math.MaxInt64)
		if w < 8 {
			largest = 1<<(8*w) - 1
		}
		smallest := uint64(0)
		if w > 1 {
			smallest = 1 << (8 * (w - 1))
		}
		tests = append(tests,
			test{fmt.Sprintf("width %d largest", w), base.Batch{RunID: "w", Seq: uint64(w), Nums: []uint64{0, largest, 1}}, w},
			test{fmt.Sprintf("width %d smallest", w), base.Batch{RunID: "w", Seq: uint64(w), Nums: []uint64{smallest, 0}}, w},
			test{fmt.Sprintf("width %d random", w), base.Batch{RunID: "w", Seq: uint64(w), Nums: append(fixture.RandomNums(uint64(w), 999, largest), largest)}, w},
		)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := fixture.Payload(t, tt.batch)
			h := header(base.PayloadVersion, tt.batch.RunID, tt.batch.Seq, uint64(len(tt.batch.Nums)), byte(tt.width))
			require.Equal(t, h, p[:len(h)], "header")
			require.Len(t, p, len(h)+tt.width*len(tt.batch.Nums), "the payload holds width bytes per integer")
			require.LessOrEqual(t, len(p), base.MaxPayload)

			var got base.Batch
			require.NoError(t, base.DecodeBatch(&got, p))
			require.Equal(t, tt.batch, got)

			// Decoding again into the same Batch reuses its storage.
			first := &got.Nums[0]
			got.RunID, got.Seq = "", 0
			require.NoError(t, base.DecodeBatch(&got, p))
			require.Equal(t, tt.batch, got)
			require.Same(t, first, &got.Nums[0], "DecodeBatch reuses dst.Nums")
		})
	}
}

func TestBatchWidth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		nums []uint64
		want int
	}{
		{"no integer", nil, 1},
		{"zero", []uint64{0}, 1},
		{"one", []uint64{1}, 1},
		{"two", []uint64{2}, 2},
		{"the largest counts, wherever it is", []uint64{3, 1 << 19, 7}, 20},
		{"2^20-1", []uint64{1<<20 - 1}, 20},
		{"2^63-1", []uint64{0, math.MaxInt64}, 63},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, base.Batch{RunID: "r", Nums: tt.nums}.Width())
		})
	}
}

func TestLargestPayloadFitsMaxPayload(t *testing.T) {
	t.Parallel()
	b := base.Batch{RunID: strings.Repeat("r", base.MaxRunID), Seq: math.MaxUint64, Nums: make([]uint64, base.MaxBatch)}
	b.Nums[0] = math.MaxInt64
	p := fixture.Payload(t, b)
	require.LessOrEqual(t, len(p), base.MaxPayload)
	var got base.Batch
	require.NoError(t, base.DecodeBatch(&got, p))
	require.Equal(t, b, got)
}

func TestEncodeBatchErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		batch base.Batch
		want  string
	}{
		{"nil nums", base.Batch{RunID: "r"}, "holds 0 integers"},
		{"empty nums", base.Batch{RunID: "r", Nums: []uint64{}}, "holds 0 integers"},
		{"above MaxBatch", base.Batch{RunID: "r", Nums: make([]uint64, base.MaxBatch+1)}, "holds 100001 integers, want 1 to 100000"},
		{"2^63", base.Batch{RunID: "r", Nums: []uint64{1, 1 << 63}}, "9223372036854775808 is above 2^63-1"},
		{"2^64-1", base.Batch{RunID: "r", Nums: []uint64{math.MaxUint64}}, "above 2^63-1"},
		{"empty run id", base.Batch{RunID: "", Nums: []uint64{1}}, "1 to 128 characters"},
		{"run id of 129 chars", base.Batch{RunID: strings.Repeat("a", 129), Nums: []uint64{1}}, "1 to 128 characters"},
		{"run id with a colon", base.Batch{RunID: "a:b", Nums: []uint64{1}}, "':' at 1"},
		{"run id with a space", base.Batch{RunID: "a b", Nums: []uint64{1}}, "' ' at 1"},
		{"run id with non-ASCII", base.Batch{RunID: "é", Nums: []uint64{1}}, "at 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := base.EncodeBatch(tt.batch)
			require.Error(t, err)
			require.Nil(t, p)
			require.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestValidateRunID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id string
		ok bool
	}{
		{"a", true},
		{"run-1", true},
		{"Run_2.final", true},
		{"0123456789", true},
		{strings.Repeat("x", 128), true},
		{"", false},
		{strings.Repeat("x", 129), false},
		{"a/b", false},
		{"a:b", false},
		{"a*", false},
		{"tab\t", false},
		{"nul\x00", false},
		{"ü", false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%.20q", tt.id), func(t *testing.T) {
			t.Parallel()
			err := base.ValidateRunID(tt.id)
			if tt.ok {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
			}
		})
	}
}

func TestDecodeBatchTruncated(t *testing.T) {
	t.Parallel()
	for _, b := range []base.Batch{
		{RunID: "run-1", Seq: 300, Nums: []uint64{1, 70000, 3}},
		{RunID: "r", Seq: 0, Nums: []uint64{math.MaxInt64}},
	} {
		p := fixture.Payload(t, b)
		for i := range len(p) {
			var got base.Batch
			err := base.DecodeBatch(&got, p[:i])
			require.ErrorIs(t, err, base.ErrMalformed, "payload cut to %d of %d bytes", i, len(p))
			require.Zero(t, got, "a failed decode leaves dst alone")
		}
	}
}

func TestDecodeBatchErrors(t *testing.T) {
	t.Parallel()
	valid := fixture.Payload(t, base.Batch{RunID: "r", Seq: 5, Nums: []uint64{1, 2}})
	with := func(p []byte, f func([]byte) []byte) []byte { return f(append([]byte(nil), p...)) }
	tests := []struct {
		name    string
		payload []byte
		want    string
	}{
		{"empty", nil, "empty"},
		{"version 0", with(valid, func(p []byte) []byte { p[0] = 0; return p }), "version 0"},
		{"version 2", with(valid, func(p []byte) []byte { p[0] = 2; return p }), "version 2"},
		{"version 255", with(valid, func(p []byte) []byte { p[0] = 255; return p }), "version 255"},
		{"one byte of data too many", append(with(valid, func(p []byte) []byte { return p }), 0), "payload has 3"},
		{"count above the data", append(header(1, "r", 5, 3, 1), 1, 2), "count 3 × width 1 needs 3 bytes"},
		{"count below the data", append(header(1, "r", 5, 1, 1), 1, 2), "count 1 × width 1 needs 1 bytes"},
		{"count 0", header(1, "r", 5, 0, 1), "count 0"},
		{"count above MaxBatch", append(header(1, "r", 5, base.MaxBatch+1, 1), make([]byte, base.MaxBatch+1)...), "count 100001"},
		{"width 0", append(header(1, "r", 5, 2, 0), 1, 2), "width 0 bytes"},
		{"width 9", append(header(1, "r", 5, 1, 9), 0, 0, 0, 0, 0, 0, 0, 0, 1), "width 9 bytes"},
		{"width missing", header(1, "r", 5, 1, 0)[:len(header(1, "r", 5, 1, 0))-1], "width missing"},
		{"non-minimal width 2", append(header(1, "r", 5, 2, 2), 0, 1, 0, 0xff), "width 2 bytes, but the largest integer 255 needs 1"},
		{"non-minimal width 8", append(header(1, "r", 5, 1, 8), 0, 0, 0, 0, 0, 0, 0, 0), "needs 1"},
		{"2^63", append(header(1, "r", 5, 1, 8), 0x80, 0, 0, 0, 0, 0, 0, 0), "above 2^63-1"},
		{"2^64-1 second", append(header(1, "r", 5, 2, 8), 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), "integer 1 is 18446744073709551615"},
		{"non-minimal run id length", []byte{1, 0x81, 0x00, 'r', 5, 1, 1, 7}, "run id length: truncated or non-minimal"},
		{"non-minimal seq", []byte{1, 1, 'r', 0x85, 0x00, 1, 1, 7}, "seq: truncated or non-minimal"},
		{"non-minimal count", []byte{1, 1, 'r', 5, 0x81, 0x80, 0x00, 1, 7}, "count: truncated or non-minimal"},
		{"overflowing seq varint", append([]byte{1, 1, 'r'}, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 1, 1, 7), "seq: truncated or non-minimal"},
		{"run id length beyond the payload", []byte{1, 100, 'r'}, "run id length 100 exceeds the 1 bytes left"},
		{"empty run id", append(header(1, "", 5, 1, 1), 7), "1 to 128 characters"},
		{"run id of 129 chars", append(header(1, strings.Repeat("r", 129), 5, 1, 1), 7), "1 to 128 characters"},
		{"run id with a colon", append(header(1, "a:b", 5, 1, 1), 7), "':'"},
		{"oversized", append(header(1, "r", 5, 1, 1), make([]byte, base.MaxPayload)...), fmt.Sprintf("above the limit of %d", base.MaxPayload)},
		{"2^40 integers claimed", append(header(1, "r", 5, 1<<40, 8), 1, 2, 3), "count 1099511627776"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dst := base.Batch{RunID: "keep", Seq: 9, Nums: []uint64{9}}
			err := base.DecodeBatch(&dst, tt.payload)
			require.ErrorIs(t, err, base.ErrMalformed)
			require.Contains(t, err.Error(), tt.want)
			// A failed decode leaves dst's fields alone (it may have written
			// into the storage of dst.Nums, which it is allowed to reuse).
			require.Equal(t, "keep", dst.RunID)
			require.Equal(t, uint64(9), dst.Seq)
			require.Len(t, dst.Nums, 1)
		})
	}
}

// bytesPerRun is testing.AllocsPerRun for bytes: the average number of bytes
// f allocates per call. Like AllocsPerRun, it must not run in parallel with
// other tests.
func bytesPerRun(runs int, f func()) float64 {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	f() // warm up
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		f()
	}
	runtime.ReadMemStats(&after)
	return float64(after.TotalAlloc-before.TotalAlloc) / float64(runs)
}

// Not parallel: it measures allocations.
func TestDecodeBatchBoundsAllocation(t *testing.T) {
	tests := []struct {
		name    string
		payload []byte
	}{
		{"2^40 integers claimed", append(header(1, "r", 5, 1<<40, 8), 1, 2, 3)},
		{"2^64-1 integers claimed", append(header(1, "r", 5, math.MaxUint64, 8), 1, 2, 3)},
		{"MaxBatch integers claimed, 3 present", append(header(1, "r", 5, base.MaxBatch, 8), 1, 2, 3)},
		{"2^63 run id length claimed", append([]byte{1}, binary.AppendUvarint(nil, 1<<63)...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var dst base.Batch
			decode := func() {
				if err := base.DecodeBatch(&dst, tt.payload); err == nil {
					t.Fatal("DecodeBatch accepted a payload claiming more than it holds")
				}
			}
			// Only the error is allocated: a handful of small objects.
			require.LessOrEqual(t, testing.AllocsPerRun(100, decode), 16.0, "allocations per decode")
			require.Less(t, bytesPerRun(100, decode), 1024.0, "bytes allocated per decode")
		})
	}
}

func FuzzDecodeBatch(f *testing.F) {
	for _, b := range []base.Batch{
		{RunID: "r", Seq: 0, Nums: []uint64{0}},
		{RunID: "run-1", Seq: 300, Nums: []uint64{1, 256, 70000}},
		{RunID: "w8", Seq: 1 << 40, Nums: []uint64{math.MaxInt64, 0, 1 << 56}},
		{RunID: strings.Repeat("x", 128), Seq: math.MaxUint64, Nums: fixture.RandomNums(3, 50, 1<<20)},
	} {
		p := fixture.Payload(f, b)
		f.Add(p)
		f.Add(p[:len(p)-1])
	}
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Add([]byte{1, 0x81, 0x00, 'r', 5, 1, 1, 7})
	f.Add(append(header(1, "r", 5, 1<<40, 8), 1, 2, 3))
	f.Add(append(header(1, "r", 5, 2, 2), 0, 1, 0, 0xff))
	f.Fuzz(func(t *testing.T, p []byte) {
		var b base.Batch
		err := base.DecodeBatch(&b, p)
		if err != nil {
			require.ErrorIs(t, err, base.ErrMalformed)
			return
		}
		require.NotEmpty(t, b.Nums)
		require.LessOrEqual(t, len(b.Nums), base.MaxBatch)
		for _, n := range b.Nums {
			require.LessOrEqual(t, n, uint64(math.MaxInt64))
		}
		// The encoding is canonical: re-encoding gives the same bytes.
		q, err := base.EncodeBatch(b)
		require.NoError(t, err)
		require.Equal(t, p, q)

		// Decoding into a used Batch gives the same result.
		used := base.Batch{RunID: "old", Seq: 1, Nums: make([]uint64, 3, len(b.Nums)+3)}
		require.NoError(t, base.DecodeBatch(&used, p))
		require.Equal(t, b, used)
	})
}

func BenchmarkEncodeBatch(b *testing.B) {
	batch := base.Batch{RunID: "bench-run", Seq: 12345, Nums: fixture.RandomNums(9, 1000, 1<<20)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := base.EncodeBatch(batch); err != nil {
			b.Fatal(err)
		}
	}
	fixture.ReportInts(b, len(batch.Nums))
}

func BenchmarkDecodeBatch(b *testing.B) {
	p := fixture.Payload(b, base.Batch{RunID: "bench-run", Seq: 12345, Nums: fixture.RandomNums(9, 1000, 1<<20)})
	var dst base.Batch
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		if err := base.DecodeBatch(&dst, p); err != nil {
			b.Fatal(err)
		}
	}
	fixture.ReportInts(b, len(dst.Nums))
}

// Every bad payload of the e2e corpus is refused by DecodeBatch with the
// reason its file states, and seeds FuzzDecodeBatch.
func TestBadPayloadCorpus(t *testing.T) {
	for _, c := range fixture.BadPayloads(t) {
		t.Run(c.Name, func(t *testing.T) {
			p := c.Payload
			var b base.Batch
			err := base.DecodeBatch(&b, p)
			require.ErrorIs(t, err, base.ErrMalformed)
			require.ErrorContains(t, err, c.Want)
			fixture.CheckSeed(t, "FuzzDecodeBatch", "badpayload-"+c.Name, p)
		})
	}
}
