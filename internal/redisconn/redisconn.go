// Package redisconn opens Redis connections from URLs — one server, over TLS
// or not, a sentinel-managed master, a Redis Cluster — and waits for Redis to
// answer, without ever showing a password in a log or an error.
package redisconn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"bitqueue/internal/outage"
	"bitqueue/internal/rdb"
)

// DefaultURL is used when neither --redis nor REDIS_URL is given.
const DefaultURL = "redis://127.0.0.1:6379/0"

// Redact returns rawURL with any password replaced by "xxxxx". A URL that does
// not parse (see parse) is replaced whole, since its password cannot be
// located.
func Redact(rawURL string) string {
	u, err := parse(rawURL)
	if err != nil {
		return "<unparsable URL>"
	}
	hideQuerySecrets(u)
	return u.Redacted()
}

// parse is url.Parse with errors that quote no part of the URL. It also
// refuses an '@' after the host: that is what a password holding an unescaped
// '/', '?' or '#' turns into, the parser ending the host there and leaving
// the rest of the password in the path, query or fragment, where Redacted
// would show it.
func parse(rawURL string) (*url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if strings.Contains(rawURL, "@") {
			// The message may quote a piece of the password (an invalid
			// port or escape), so keep it to itself.
			err = errors.New("invalid URL; percent-encode special characters in the password")
		}
		return nil, err
	}
	if strings.Contains(u.Opaque+u.Path+u.RawQuery+u.Fragment, "@") {
		return nil, errors.New("'@' after the host; percent-encode any '/', '?' or '#' in the password")
	}
	return u, nil
}

// schemes are the URL schemes OpenWith takes.
var schemes = []string{"redis", "rediss", "redis-sentinel", "rediss-sentinel", "redis-cluster", "rediss-cluster"}

// withoutScheme reports whether rawURL is a server's address without a
// scheme, such as 127.0.0.1:6379 or user:password@host:6379/0, and returns
// it as it can be shown: its password replaced by "xxxxx", or
// "<unparsable URL>" when its password cannot be located.
func withoutScheme(rawURL string) (shown string, ok bool) {
	if rawURL == "" || strings.Contains(rawURL, "://") {
		return "", false
	}
	for _, s := range schemes {
		if strings.HasPrefix(rawURL, s+":") {
			return "", false // a URL of ours, malformed: parse says how
		}
	}
	u, err := parse("redis://" + rawURL)
	if err != nil || u.Host == "" {
		return "<unparsable URL>", true
	}
	hideQuerySecrets(u)
	return strings.TrimPrefix(u.Redacted(), "redis://"), true
}

// noScheme says what is wrong with an address given without a scheme (as
// withoutScheme shows it), and which URL it likely meant.
func noScheme(shown string) error {
	if shown == "<unparsable URL>" {
		return errors.New("no scheme; want redis://HOST:PORT/0")
	}
	if !strings.Contains(shown, "/") {
		shown += "/0"
	}
	return fmt.Errorf("no scheme; want redis://HOST:PORT/0, such as redis://%s", shown)
}

// URLError is a Redis URL that cannot be used: URL is as it can be shown
// (see Redact), Err says what is wrong with it.
type URLError struct {
	URL string
	// Setting names where the URL came from, such as --redis or
	// BITQUEUE_REDIS_URL, when known.
	Setting string
	Err     error
}

func (e *URLError) Error() string {
	if e.Setting != "" {
		return fmt.Sprintf("redis URL %s (from %s): %v", e.URL, e.Setting, e.Err)
	}
	return fmt.Sprintf("redis URL %s: %v", e.URL, e.Err)
}

func (e *URLError) Unwrap() error { return e.Err }

func redactErr(err error, rawURL string) error {
	u, perr := parse(rawURL)
	if perr != nil {
		return errors.New("invalid URL")
	}
	if p, ok := u.User.Password(); ok && p != "" {
		return errors.New(strings.ReplaceAll(err.Error(), p, "xxxxx"))
	}
	return err
}

// Wait pings db (every master of a cluster) until it answers, waiting between
// attempts as outage.Backoff says (with jitter, so that a fleet starting
// together does not retry in step), for at most maxWait. It logs one line
// per failed attempt and returns an error naming the redacted URL when Redis
// never answers. Errors that waiting cannot cure (rdb.IsFatal) — a server
// certificate that does not verify, a server that does not speak TLS, wrong
// or missing credentials, a user without permission to PING, a database the
// server does not have, a server that does not know PING — end the wait at
// once with an error that says what to fix.
func Wait(ctx context.Context, db *rdb.RDB, rawURL string, maxWait time.Duration, log *slog.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, maxWait)
	defer cancel()
	start := time.Now()
	var backoff outage.Backoff
	var cause error // the last error that was not the wait running out
	for attempt := 1; ; attempt++ {
		err := db.Ping(ctx)
		if err != nil && ctx.Err() == nil {
			cause = err
		} else if err != nil && cause != nil {
			err = cause
		}
		if err == nil {
			if attempt > 1 {
				log.Info("redis reachable", "redis", Redact(rawURL), "waited", time.Since(start).Round(time.Millisecond))
			}
			return nil
		}
		hint, isPermanent := rdb.IsFatal(err)
		schemeHint := schemeHint(err, rawURL)
		err = redactClientErr(redactErr(err, rawURL), db)
		if isPermanent {
			return fmt.Errorf("redis at %s: %v (%s)", Redact(rawURL), err, hint)
		}
		delay := backoff.Next()
		log.Warn("redis not reachable yet; retrying", "redis", Redact(rawURL), "attempt", attempt, "retry_in", delay, "err", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("redis at %s did not answer within %s: %v%s", Redact(rawURL), maxWait, err, schemeHint)
		case <-time.After(delay):
		}
	}
}
