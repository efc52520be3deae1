package bench

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

// median returns the element of xs whose key is the median (the lower one
// of an even count).
func median[T any, K cmp.Ordered](xs []T, key func(T) K) T {
	s := slices.Clone(xs)
	slices.SortFunc(s, func(a, b T) int { return cmp.Compare(key(a), key(b)) })
	return s[(len(s)-1)/2]
}

// Latencies returns, for every batch of r, the time from the start of its
// enqueue to its completion being seen.
func (r *Followed) Latencies() []time.Duration {
	out := make([]time.Duration, 0, len(r.Done))
	for i, d := range r.Done {
		if e := r.Enqueued[i]; !d.IsZero() && !e.IsZero() {
			out = append(out, d.Sub(e))
		}
	}
	return out
}

// span returns the first enqueue, the last enqueue and the last completion.
func (r *Followed) span() (first, lastEnqueue, last time.Time) {
	for i := range r.Done {
		e, d := r.Enqueued[i], r.Done[i]
		if !e.IsZero() && (first.IsZero() || e.Before(first)) {
			first = e
		}
		if e.After(lastEnqueue) {
			lastEnqueue = e
		}
		if d.After(last) {
			last = d
		}
	}
	return first, lastEnqueue, last
}
