package measure

import (
	"cmp"
	"slices"
	"time"
)

// Percentile returns the p-th percentile (0 < p ≤ 100) of ds by the
// nearest-rank method: the smallest value at or above p % of the values. It
// returns 0 for no values.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(p/100*float64(len(s)) + 0.9999999)
	return s[min(max(rank, 1), len(s))-1]
}

// MedianDuration returns the median of ds (the lower one of an even count).
func MedianDuration(ds []time.Duration) time.Duration {
	return median(ds, func(d time.Duration) time.Duration { return d })
}

// MedianFloat returns the median of vs (the lower one of an even count).
func MedianFloat(vs []float64) float64 { return median(vs, func(v float64) float64 { return v }) }

// median returns the element of xs whose key is the median (the lower one
// of an even count).
func median[T any, K cmp.Ordered](xs []T, key func(T) K) T {
	s := slices.Clone(xs)
	slices.SortFunc(s, func(a, b T) int { return cmp.Compare(key(a), key(b)) })
	return s[(len(s)-1)/2]
}
