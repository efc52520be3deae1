// Package baseline holds the two baselines every figure of the benchmark is
// read against, as handlers a baseline worker process serves with: the empty
// handler (the ceiling: what asynq and Redis cost per task with no work), and
// the cache shipped in every task (the anti-pattern bitqueue exists to
// avoid), with that task's payload.
package baseline

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
)

// TypeShipped is the task type of the anti-pattern baseline: a batch that
// carries the whole bitstring cache with it, as a process pool's task does
// when the cache is passed as an argument of every call.
const TypeShipped = "bench:shipped"

// CacheTable returns the serialized bitstring cache of every integer below
// 2^k: 8·2^k bytes, one little-endian word per integer in the layout of
// internal/cache (the bitstring left-aligned at bit 63, its length in the low
// 6 bits). It is what the anti-pattern ships inside every task.
func CacheTable(k int) []byte {
	out := make([]byte, 8<<k)
	for n := range uint64(1) << k {
		binary.LittleEndian.PutUint64(out[8*n:], TableWord(n))
	}
	return out
}

// TableWord is n's entry in a CacheTable: its bitstring left-aligned at bit
// 63 and its length in the low 6 bits (exact for n below 2^58).
func TableWord(n uint64) uint64 {
	l := max(bits.Len64(n), 1)
	return n<<(64-l)&^63 | uint64(l)
}

// EncodeShipped returns the payload of an anti-pattern task: uvarint
// len(table), the table, then the batch payload of base.EncodeBatch.
func EncodeShipped(table, batch []byte) []byte {
	p := make([]byte, 0, binary.MaxVarintLen64+len(table)+len(batch))
	p = binary.AppendUvarint(p, uint64(len(table)))
	p = append(p, table...)
	return append(p, batch...)
}

// DecodeShipped splits an anti-pattern payload into its table and its batch
// payload.
func DecodeShipped(p []byte) (table, batch []byte, err error) {
	n, k := binary.Uvarint(p)
	if k <= 0 || n > uint64(len(p)-k) || n%8 != 0 {
		return nil, nil, errors.New("malformed shipped payload: bad table length")
	}
	p = p[k:]
	if len(p) == int(n) {
		return nil, nil, fmt.Errorf("malformed shipped payload: no batch after the %d-byte table", n)
	}
	return p[:n], p[n:], nil
}
