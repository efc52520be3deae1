package outage

import (
	"time"

	"github.com/cenkalti/backoff/v5"
)

// Bounds of the waits between attempts while Redis does not answer.
const (
	// FirstBackoff is the nominal first wait: the actual one is
	// FirstBackoff·(1±Jitter), 50 to 150 ms.
	FirstBackoff = 100 * time.Millisecond
	// MaxBackoff is the longest wait between two attempts.
	MaxBackoff = 2 * time.Second
	// Jitter is how far a wait strays from its nominal delay, as a fraction
	// of it: each wait is the nominal delay times a random factor in
	// [1−Jitter, 1+Jitter].
	Jitter = 0.5
)

// maxNominal is the largest nominal delay: with the most jitter added, a
// wait is MaxBackoff. Capping the nominal delay rather than the wait keeps
// the waits at the cap spread over [MaxBackoff/3, MaxBackoff] instead of
// piling up at MaxBackoff.
const maxNominal = MaxBackoff * 2 / 3 // MaxBackoff/(1+Jitter), Jitter being 1/2

// Backoff spaces the attempts of one wait for Redis: a nominal delay of
// FirstBackoff doubling up to MaxBackoff/(1+Jitter), each wait that delay
// with Jitter, so at most MaxBackoff. The jitter is what spreads a fleet's
// retries: every worker of a fleet finds Redis gone at the same instant
// when it restarts, and without it they would all try again at the same
// instants, 100 ms, 300 ms, 700 ms… later. The zero value is ready to use;
// it is not safe for concurrent use.
type Backoff struct{ exp *backoff.ExponentialBackOff }

// Next returns how long to wait before the next attempt.
func (b *Backoff) Next() time.Duration {
	if b.exp == nil {
		b.exp = &backoff.ExponentialBackOff{
			InitialInterval:     FirstBackoff,
			RandomizationFactor: Jitter,
			Multiplier:          2,
			MaxInterval:         maxNominal,
		}
		b.exp.Reset()
	}
	return min(b.exp.NextBackOff(), MaxBackoff)
}
