package tasks

import (
	"encoding/binary"

	"bitqueue/internal/base"
	"bitqueue/internal/cache"
)

// Pack converts nums into their packed result, looking each bitstring up in c.
// It returns how many integers were outside the cache (and computed
// directly). Bits reuses buf's storage when it is large enough.
func Pack(c *cache.Cache, nums []uint64, buf []byte) (r base.Result, misses int) {
	// The widest bitstring is that of the largest integer, whose highest
	// bit is the highest bit set in any of them.
	var all uint64
	for _, n := range nums {
		all |= n
	}
	width := cache.Len(all)
	size := (len(nums)*width + 7) / 8
	// Whole 64-bit words are stored as they fill, so leave room for the
	// last one to spill past size; it is cut off below.
	if cap(buf) < size+8 {
		buf = make([]byte, size+8)
	}
	out := buf[:size+8]
	var acc uint64 // pending bits, left-aligned
	used, pos := 0, 0
	// The cache's entries are one byte each, so a batch's lookups hit the
	// CPU's L2 cache: looking up and packing row by row costs no more than
	// looking a chunk up first.
	for _, n := range nums {
		bs, l, hit := c.Lookup(n)
		if !hit {
			misses++
		}
		row := bs >> (width - l) // width bits, left-aligned
		acc |= row >> used
		if used+width < 64 {
			used += width
			continue
		}
		binary.BigEndian.PutUint64(out[pos:], acc)
		pos += 8
		acc = row << (64 - used) // Go shifts by 64 to zero
		used += width - 64
	}
	binary.BigEndian.PutUint64(out[pos:], acc)
	clear(out[size:])
	return base.Result{Count: len(nums), Width: width, Bits: out[:size]}, misses
}
