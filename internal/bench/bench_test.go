package bench

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/cache"
)

func TestPercentile(t *testing.T) {
	t.Parallel()
	ms := func(xs ...int) []time.Duration {
		out := make([]time.Duration, len(xs))
		for i, x := range xs {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	for _, tc := range []struct {
		name string
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one", ms(7), 99, 7 * time.Millisecond},
		{"median of odd", ms(3, 1, 2), 50, 2 * time.Millisecond},
		{"median of even is the lower", ms(4, 1, 3, 2), 50, 2 * time.Millisecond},
		{"p99 of 100 is the 99th", ms(100, 99, 98, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95, 96, 97), 99, 99 * time.Millisecond},
		{"max", ms(5, 9, 1), 100, 9 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, Percentile(tc.in, tc.p))
		})
	}
}

func TestReplaceSection(t *testing.T) {
	t.Parallel()
	section := BeginMarker + "\nnew figures\n" + EndMarker + "\n"
	for _, tc := range []struct{ name, doc, want string }{
		{"empty file", "", section},
		{"no markers: appended", "# Benchmarks\n", "# Benchmarks\n\n" + section},
		{"markers: replaced, the rest kept", "# B\n\n<!-- bench-e2e:begin old -->\nold\n" + EndMarker + "\n\n## After\n", "# B\n\n" + section + "\n## After\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, replaceSection(tc.doc, section))
		})
	}
}

func TestSplitTaskID(t *testing.T) {
	t.Parallel()
	run, seq, ok := splitTaskID("bench-1a2b-r3:1234")
	require.True(t, ok)
	require.Equal(t, "bench-1a2b-r3", run)
	require.Equal(t, 1234, seq)
	_, _, ok = splitTaskID("no-seq")
	require.False(t, ok)
	_, _, ok = splitTaskID("run:x")
	require.False(t, ok)
}

func TestCacheTableMatchesCache(t *testing.T) {
	t.Parallel()
	const k = 12
	c, err := cache.New(k)
	require.NoError(t, err)
	table := CacheTable(k)
	require.Len(t, table, 8<<k)
	for n := range uint64(1) << k {
		bs, l, hit := c.Lookup(n)
		require.True(t, hit)
		w := binary.LittleEndian.Uint64(table[8*n:])
		require.Equal(t, bs, w&^63, "bitstring of %d", n)
		require.Equal(t, l, int(w&63), "length of %d", n)
	}
}

func TestShippedPayload(t *testing.T) {
	t.Parallel()
	table, batch := CacheTable(4), []byte{1, 2, 3}
	gotTable, gotBatch, err := DecodeShipped(EncodeShipped(table, batch))
	require.NoError(t, err)
	require.Equal(t, table, gotTable)
	require.Equal(t, batch, gotBatch)
	for _, bad := range [][]byte{nil, {0x80}, {16, 1, 2}, append([]byte{8}, make([]byte, 8)...), {3, 1, 2, 3, 4}} {
		_, _, err := DecodeShipped(bad)
		require.Error(t, err, "%x", bad)
	}
}

func TestThousands(t *testing.T) {
	t.Parallel()
	for in, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 1234567.4: "1,234,567", 10e6: "10,000,000"} {
		require.Equal(t, want, thousands(in))
	}
}
