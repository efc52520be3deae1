// Package outage rides out Redis outages: it tells errors that go away when
// Redis comes back (a restart, a failover, a dropped connection) from those
// that do not, and retries an operation through the former with bounded
// backoff, logging one line when an outage begins and one when it ends.
package outage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Backoff between attempts while Redis does not answer.
const (
	MinBackoff = 100 * time.Millisecond
	MaxBackoff = 2 * time.Second
)

// DefaultBound is how long a Rider rides out one outage when no bound is
// given.
const DefaultBound = 30 * time.Second

// IsOutOfMemory reports whether err is Redis refusing a write because used
// memory is above maxmemory (the "OOM command not allowed" reply, sent under
// the noeviction policy). asynq turns script errors into text, so the reply
// is recognised by its wording.
func IsOutOfMemory(err error) bool {
	return err != nil && strings.Contains(err.Error(), "OOM command not allowed")
}

// transientReplies are the parts of error messages that mean Redis is
// restarting, failing over or unreachable for now: asynq wraps Redis errors
// as text, so the wording is all that is left of them. Each holds a space, so
// that a run id or a key (which never do) cannot imitate one.
var transientReplies = []string{
	"connection refused",
	"connection reset",
	"broken pipe",
	"i/o timeout",
	"use of closed network connection",
	"connection pool timeout",
	"failed to dial",
	"no route to host",
	"network is unreachable",
	"LOADING ",     // Redis is loading its data set after a restart
	"READONLY ",    // a replica during failover
	"MASTERDOWN ",  // a replica that lost its master
	"TRYAGAIN ",    // cluster resharding
	"CLUSTERDOWN ", // cluster not serving
	"BUSY ",        // a long script is running
}

// IsTransient reports whether err goes away by itself when Redis comes back:
// a refused, reset, closed or timed-out connection, or a Redis that is
// loading its data, failing over or busy. Other errors (out of memory, no
// permission, a wrong key type, a cancelled context) are not.
func IsTransient(err error) bool {
	if err == nil || IsOutOfMemory(err) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.As(err, &ne):
		return true
	}
	msg := err.Error()
	if strings.HasSuffix(msg, ": EOF") { // a connection closed under a command, as asynq words it
		return true
	}
	for _, s := range transientReplies {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// Rider retries operations through a Redis outage: an operation failing
// with a transient error is tried again with backoff (MinBackoff doubling to
// MaxBackoff) until it succeeds, fails otherwise, or Redis has been failing
// for longer than the bound. Operations running at once share one outage:
// it is logged once when it begins and once when it ends. A Rider is safe
// for concurrent use.
type Rider struct {
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
	return &Rider{bound: bound, log: log}
}

// Bound returns how long the Rider rides out one outage.
func (r *Rider) Bound() time.Duration { return r.bound }

// Do calls fn until it returns nil or an error that is not transient, until
// the outage has lasted longer than the bound, or until ctx ends; it returns
// fn's last error, wrapped with how long Redis was silent when the bound ran
// out. what names the operation in the log and the error.
func (r *Rider) Do(ctx context.Context, what string, fn func() error) error {
	delay := MinBackoff
	for {
		started := time.Now()
		err := fn()
		if err == nil {
			r.ended(started)
			return nil
		}
		if ctx.Err() != nil || !IsTransient(err) {
			return err
		}
		since := r.began(what, started, err)
		if waited := time.Since(since); waited >= r.bound {
			return fmt.Errorf("%s: gave up after Redis did not answer for %s: %w", what, waited.Round(time.Millisecond), err)
		}
		timer := time.NewTimer(min(delay, r.bound-time.Since(since)+time.Millisecond))
		select {
		case <-ctx.Done():
			timer.Stop()
			return err
		case <-timer.C:
		}
		delay = min(2*delay, MaxBackoff)
	}
}

// began records a failure of an attempt started at started and returns when
// the outage it belongs to began, logging the first failure of each outage.
// An attempt started before the last outage ended failed in that outage: it
// neither starts a new one nor logs.
func (r *Rider) began(what string, started time.Time, err error) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.since.IsZero() && started.Before(r.lastEnd) {
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
