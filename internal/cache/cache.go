// Package cache holds the bitstring cache: the binary form of every integer
// below 2^k, laid out in one contiguous array so a worker can build it once at
// start-up and share it, read-only, between all of its task handlers.
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

// Cache maps each n in [0, 2^k) to its bitstring. It is immutable once built
// and safe for concurrent use.
type Cache struct {
	k int
	// words[n] holds the bitstring of n left-aligned at bit 63 (its most
	// significant bit first) and its length in the low 6 bits.
	words []uint64
}

// New builds the cache for every integer below 2^k. It returns an error naming
// the allowed range when k is outside [MinBits, MaxBits].
func New(k int) (*Cache, error) {
	if k < MinBits || k > MaxBits {
		return nil, fmt.Errorf("cache bits %d out of range [%d, %d]", k, MinBits, MaxBits)
	}
	words := make([]uint64, 1<<k)
	for n := range words {
		words[n] = word(uint64(n))
	}
	return &Cache{k: k, words: words}, nil
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
	return Stats{Bits: c.k, Entries: len(c.words), Bytes: 8 * len(c.words)}
}

// Lookup returns the bitstring of n, left-aligned in a 64-bit word (most
// significant bit of the bitstring at bit 63, zeros after it), and its length
// in bits (at least 1). hit reports whether n came from the cache; integers at
// or above 2^k are computed directly and are still correct.
func (c *Cache) Lookup(n uint64) (bitstring uint64, length int, hit bool) {
	if n < uint64(len(c.words)) {
		w := c.words[n]
		return w &^ lengthMask, int(w & lengthMask), true
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

const lengthMask = 1<<6 - 1

// Len returns the length of n's bitstring: its bit length, and 1 for zero.
func Len(n uint64) int { return max(bits.Len64(n), 1) }

// word packs n's bitstring left-aligned with its length in the low 6 bits;
// it is exact for the cached range, whose bitstrings are at most 28 bits long.
func word(n uint64) uint64 {
	l := Len(n)
	return n<<(64-l)&^lengthMask | uint64(l)
}
