package baseline

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/cache"
)

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
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"truncated length", []byte{0x80}},
		{"table longer than the payload", []byte{16, 1, 2}},
		{"no batch after the table", append([]byte{8}, make([]byte, 8)...)},
		{"table not of whole words", []byte{3, 1, 2, 3, 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := DecodeShipped(tc.in)
			require.Error(t, err, "%x", tc.in)
		})
	}
}

// FuzzDecodeShipped checks that DecodeShipped never panics, and that what it
// accepts survives a round trip through EncodeShipped.
func FuzzDecodeShipped(f *testing.F) {
	f.Add(EncodeShipped(CacheTable(2), []byte{1, 2, 3}))
	f.Add([]byte{})
	f.Add([]byte{0x80})
	f.Add([]byte{16, 1, 2})
	f.Add(append([]byte{8}, make([]byte, 8)...))
	f.Fuzz(func(t *testing.T, p []byte) {
		table, batch, err := DecodeShipped(p)
		if err != nil {
			return
		}
		require.Zero(t, len(table)%8, "table of %d bytes", len(table))
		require.NotEmpty(t, batch)
		table2, batch2, err := DecodeShipped(EncodeShipped(table, batch))
		require.NoError(t, err)
		require.Equal(t, table, table2)
		require.Equal(t, batch, batch2)
	})
}
