package base_test

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"bitqueue/fixture"
	"bitqueue/internal/base"
	"bitqueue/internal/cache"
	"bitqueue/internal/tasks"
)

// hash is a result as HGETALL returns it.
func hash(r base.Result) map[string]string {
	return map[string]string{
		base.FieldVersion: strconv.Itoa(base.ResultVersion),
		base.FieldCount:   strconv.Itoa(r.Count),
		base.FieldWidth:   strconv.Itoa(r.Width),
		base.FieldBits:    string(r.Bits),
	}
}

func TestResultFieldNames(t *testing.T) {
	t.Parallel()
	// The hash layout is a public contract.
	require.Equal(t, map[string]string{"v": "1", "count": "3", "width": "3", "bits": "\xa1\x00"},
		hash(base.Result{Count: 3, Width: 3, Bits: []byte{0xa1, 0x00}}))
}

func TestParseResultAccepts(t *testing.T) {
	t.Parallel()
	c := fixture.Cache(t, 10)
	tests := []struct {
		name string
		nums []uint64
	}{
		{"one zero", []uint64{0}},
		{"one one", []uint64{1}},
		{"golden", []uint64{5, 0, 2}},
		{"2^63-1", []uint64{math.MaxInt64, 0}},
		{"random width 20", fixture.RandomNums(1, 333, 1<<20)},
		{"random width 41", append(fixture.RandomNums(2, 100, 1<<40), 1<<40)},
		{"MaxBatch", fixture.RandomNums(3, base.MaxBatch, math.MaxInt64)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			packed, _ := tasks.Pack(c, tt.nums, nil)
			r, err := base.ParseResult(hash(packed))
			require.NoError(t, err)
			require.Equal(t, packed, r)
			fixture.RequireRows(t, r, tt.nums)
		})
	}
}

func TestParseResultRejects(t *testing.T) {
	t.Parallel()
	c := fixture.Cache(t, 10)
	// 3 rows of 5 bits: 15 bits in 2 bytes, 1 padding bit.
	valid, _ := tasks.Pack(c, []uint64{17, 3, 31}, nil)
	require.Equal(t, 5, valid.Width)
	require.NoError(t, func() error { _, err := base.ParseResult(hash(valid)); return err }())

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
		{"width one too large", hash(base.Result{Count: 2, Width: 6, Bits: []byte{0x44, 0x30}}), "width 6, but the largest row needs 5 bits"},
		{"width of zeros", hash(base.Result{Count: 3, Width: 2, Bits: []byte{0x00}}), "width 2, but the largest row needs 1 bits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := base.ParseResult(tt.h)
			require.ErrorIs(t, err, base.ErrBadResult)
			require.Contains(t, err.Error(), tt.want)
			require.Zero(t, r)
		})
	}
}

func FuzzParseResult(f *testing.F) {
	c, err := cache.New(8)
	require.NoError(f, err)
	for _, nums := range [][]uint64{{0}, {1}, {5, 0, 2}, {17, 3, 31}, {math.MaxInt64}, fixture.RandomNums(1, 20, 1<<12)} {
		r, _ := tasks.Pack(c, nums, nil)
		h := hash(r)
		f.Add(h["v"], h["count"], h["width"], []byte(h["bits"]))
	}
	f.Add("1", "3", "5", []byte{0x8c, 0x7f})
	f.Add("1", "2", "6", []byte{0x44, 0x30})
	f.Add("1", "01", "1", []byte{0x80})
	f.Add("2", "1", "1", []byte{0x80})
	f.Fuzz(func(t *testing.T, v, count, width string, bits []byte) {
		r, err := base.ParseResult(map[string]string{"v": v, "count": count, "width": width, "bits": string(bits)})
		if err != nil {
			require.ErrorIs(t, err, base.ErrBadResult)
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

func BenchmarkParseResult(b *testing.B) {
	c := fixture.Cache(b, 20)
	r, _ := tasks.Pack(c, fixture.RandomNums(11, 1000, 1<<20), nil)
	h := hash(r)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := base.ParseResult(h); err != nil {
			b.Fatal(err)
		}
	}
	fixture.ReportInts(b, r.Count)
}

// Every malformed result hash of the e2e corpus is refused by ParseResult
// with the reason its file states (the well-formed ones that disagree with
// their input are the producer's to refuse), and seeds FuzzParseResult.
func TestBadResultCorpus(t *testing.T) {
	for _, c := range fixture.BadResults(t) {
		t.Run(c.Name, func(t *testing.T) {
			h := c.Hash
			_, err := base.ParseResult(h)
			if reason, ok := strings.CutPrefix(c.Want, "bad result hash: "); ok {
				require.ErrorIs(t, err, base.ErrBadResult)
				require.ErrorContains(t, err, reason)
			} else {
				require.NoError(t, err, "a well-formed result")
			}
			fixture.CheckSeed(t, "FuzzParseResult", "badresult-"+c.Name, h[base.FieldVersion], h[base.FieldCount], h[base.FieldWidth], []byte(h[base.FieldBits]))
		})
	}
}
