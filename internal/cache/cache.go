// Package cache holds the bitstring cache: the binary form of every integer
// below 2^k, built once when a worker starts and shared, read-only, between
// all of its task handlers.
//
// The bitstring of n is n's own binary digits, so an entry need not repeat
// them: it holds only the bitstring's length, one byte, and Lookup puts the
// digits of n at the head of a word by that length. The default cache of
// 2^20 entries takes 1 MiB, within the L2 cache of current server cores,
// where the earlier layout of one 8-byte word per entry (the digits and the
// length together) took 8 MiB and missed to L3 or memory on random integers.
package cache

import (
	"fmt"
	"math/bits"
	"time"
)

// Bit-count limits accepted by New.
const (
	MinBits     = 1
	MaxBits     = 28
	DefaultBits = 20
)

// EntryBytes is the memory one entry takes.
const EntryBytes = 1

// Cache maps each n in [0, 2^k) to its bitstring. It is immutable once built
// and safe for concurrent use.
type Cache struct {
	k int
	// lengths[n] is the length of n's bitstring: its bit length, 1 for 0.
	// The bitstring itself is the low lengths[n] bits of n.
	lengths []uint8
}

// New builds the cache for every integer below 2^k. It returns an error naming
// the allowed range when k is outside [MinBits, MaxBits].
func New(k int) (*Cache, error) {
	if k < MinBits || k > MaxBits {
		return nil, fmt.Errorf("cache bits %d out of range [%d, %d]", k, MinBits, MaxBits)
	}
	lengths := make([]uint8, 1<<k)
	// Integers of bit length l fill [2^(l-1), 2^l): write each run at once.
	lengths[0] = 1
	for l := 1; l <= k; l++ {
		run := lengths[1<<(l-1) : 1<<l]
		for i := range run {
			run[i] = uint8(l)
		}
	}
	return &Cache{k: k, lengths: lengths}, nil
}

// Stats describes a built cache, for logs and metrics.
type Stats struct {
	Bits    int           // k: the cache covers [0, 2^k)
	Entries int           // 2^k
	Bytes   int           // memory held by the entries
	Build   time.Duration // time New took, when measured by Build
}

// Build is New that also reports how long building took.
func Build(k int) (*Cache, Stats, error) {
	start := time.Now()
	c, err := New(k)
	if err != nil {
		return nil, Stats{}, err
	}
	s := c.Stats()
	s.Build = time.Since(start)
	return c, s, nil
}

// Stats reports the cache's size.
func (c *Cache) Stats() Stats {
	return Stats{Bits: c.k, Entries: len(c.lengths), Bytes: EntryBytes * len(c.lengths)}
}

// Lookup returns the bitstring of n, left-aligned in a 64-bit word (most
// significant bit of the bitstring at bit 63, zeros after it), and its length
// in bits (at least 1). hit reports whether n came from the cache; integers at
// or above 2^k are computed directly and are still correct.
func (c *Cache) Lookup(n uint64) (bitstring uint64, length int, hit bool) {
	if n < uint64(len(c.lengths)) {
		l := int(c.lengths[n])
		return n << (64 - l), l, true
	}
	l := Len(n)
	return n << (64 - l), l, false
}

// AppendString appends the bitstring of n as ASCII '0' and '1', identical to
// strconv.FormatUint(n, 2).
func (c *Cache) AppendString(dst []byte, n uint64) []byte {
	w, l, _ := c.Lookup(n)
	for i := range l {
		dst = append(dst, '0'+byte(w>>(63-i)&1))
	}
	return dst
}

// Len returns the length of n's bitstring: its bit length, and 1 for zero.
func Len(n uint64) int { return max(bits.Len64(n), 1) }
