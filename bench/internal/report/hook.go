package report

import (
	"fmt"
	"strings"
)

// Hook compares the startup hook's cache with computing each bitstring's
// length by math/bits, as `make bench` measures it: each row a pair of the
// product's Go benchmarks, run by the benchmark in the same session.
type Hook struct {
	Count int // runs of each benchmark, of which the rows hold the medians
	Rows  []HookRow
}

// HookRow is one pair of benchmarks: the cache's and the direct one.
type HookRow struct {
	What           string // what one operation is
	Cache, Direct  string // the benchmarks' names
	CacheIntsPerS  float64
	DirectIntsPerS float64
}

// Ratio is the cache's throughput over the direct computation's.
func (r HookRow) Ratio() float64 { return r.CacheIntsPerS / r.DirectIntsPerS }

// HookBlock is README's paragraph of the hook's figures, between the
// markers of UpdateBlock's block "hook".
func (h *Hook) HookBlock() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Measured by `make bench-e2e` (`make bench`'s benchmarks, median of %d runs, on the machine of [BENCHMARKS.md](BENCHMARKS.md#the-startup-hooks-cache-against-bitslen64)):", h.Count)
	for i, r := range h.Rows {
		sep := ";"
		if i == len(h.Rows)-1 {
			sep = "."
		}
		fmt.Fprintf(&b, " %s, %s ints/s with the cache (`%s`) against %s with `bits.Len64` (`%s`), × %.2f%s",
			r.What, mega(r.CacheIntsPerS), r.Cache, mega(r.DirectIntsPerS), r.Direct, r.Ratio(), sep)
	}
	return b.String()
}
