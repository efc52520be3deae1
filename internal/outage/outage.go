// Package outage is bitqueue's one mechanism for Redis availability: one
// Backoff, and a Rider that retries an operation through a run-time outage
// — an error rdb.IsTransient calls one that goes away when Redis comes back
// (a restart, a failover, a dropped connection) — logging one line when it
// begins and one when it ends; redisconn.Wait waits for Redis at start-up
// with the same two.
package outage

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"bitqueue/internal/rdb"
)

// DefaultBound is how long a Rider rides out one outage when no bound is
// given.
const DefaultBound = 30 * time.Second

// Rider retries operations through a Redis outage: an operation failing
// with a transient error is tried again after the waits of a Backoff (about
// FirstBackoff doubling to at most MaxBackoff, with jitter) until it
// succeeds, fails otherwise, or Redis has been failing for longer than the
// bound. Operations running at once share one outage:
// it is logged once when it begins and once when it ends. A Rider is safe
// for concurrent use.
type Rider struct {
	// Aftershock is how long after an outage ended a failure still belongs
	// to it (DefaultAftershock from New): go-redis's pool keeps returning its
	// last dial error for up to a second after Redis is back, until it has
	// dialled again, so a restart would otherwise log as several outages.
	// Such a failure is retried as any other, without a log line.
	Aftershock time.Duration

	bound time.Duration
	log   *slog.Logger

	mu      sync.Mutex
	since   time.Time // when the current outage began; zero while Redis answers
	lastEnd time.Time // when the last outage ended
}

// New returns a Rider that gives up on an outage after bound (DefaultBound
// when not positive), logging to log (nowhere when nil).
func New(bound time.Duration, log *slog.Logger) *Rider {
	if bound <= 0 {
		bound = DefaultBound
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Rider{bound: bound, log: log, Aftershock: DefaultAftershock}
}

// DefaultAftershock is a Rider's Aftershock unless set otherwise.
const DefaultAftershock = 2 * time.Second

// Bound returns how long the Rider rides out one outage.
func (r *Rider) Bound() time.Duration { return r.bound }

// Do calls fn until it returns nil or an error that is not transient, until
// the outage has lasted longer than the bound, or until ctx ends; it returns
// fn's last error, wrapped with how long Redis was silent when the bound ran
// out. what names the operation in the log and the error.
func (r *Rider) Do(ctx context.Context, what string, fn func() error) error {
	var backoff Backoff
	for {
		started := time.Now()
		err := fn()
		if err == nil {
			r.ended(started)
			return nil
		}
		if ctx.Err() != nil || !rdb.IsTransient(err) {
			return err
		}
		since := r.began(what, started, err)
		if waited := time.Since(since); waited >= r.bound {
			return fmt.Errorf("%s: gave up after Redis did not answer for %s: %w", what, waited.Round(time.Millisecond), err)
		}
		timer := time.NewTimer(min(backoff.Next(), r.bound-time.Since(since)+time.Millisecond))
		select {
		case <-ctx.Done():
			timer.Stop()
			return err
		case <-timer.C:
		}
	}
}

// began records a failure of an attempt started at started and returns when
// the outage it belongs to began, logging the first failure of each outage.
// An attempt started before the last outage ended, or within Aftershock of
// its end, failed in that outage: it neither starts a new one nor logs.
func (r *Rider) began(what string, started time.Time, err error) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.since.IsZero() && started.Before(r.lastEnd.Add(r.Aftershock)) {
		return started
	}
	if r.since.IsZero() {
		r.since = time.Now()
		r.log.Warn("redis unreachable; retrying with backoff", "op", what, "give_up_after", r.bound, "err", err)
	}
	return r.since
}

// ended records the success of an attempt started at started, logging the
// end of an outage. An attempt started before the outage began proves
// nothing about Redis now: it does not end the outage.
func (r *Rider) ended(started time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.since.IsZero() && !started.Before(r.since) {
		r.log.Info("redis reachable again", "outage", time.Since(r.since).Round(time.Millisecond))
		r.since, r.lastEnd = time.Time{}, time.Now()
	}
}
