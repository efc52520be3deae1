package outage

import "time"

// Backoff between attempts while Redis does not answer.
const (
	MinBackoff = 100 * time.Millisecond
	MaxBackoff = 2 * time.Second
)

// Backoff spaces the attempts of one wait for Redis: MinBackoff, doubling
// up to MaxBackoff. The zero value is ready to use; it is not safe for
// concurrent use.
type Backoff struct{ next time.Duration }

// Next returns how long to wait before the next attempt.
func (b *Backoff) Next() time.Duration {
	d := max(b.next, MinBackoff)
	b.next = min(2*d, MaxBackoff)
	return d
}
