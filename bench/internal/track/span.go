package track

import "time"

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

// Span returns the first enqueue, the last enqueue and the last completion.
func (r *Followed) Span() (first, lastEnqueue, last time.Time) {
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
