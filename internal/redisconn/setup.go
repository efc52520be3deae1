package redisconn

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"bitqueue/internal/logging"
)

// Setup is what a command needs to reach Redis and to log: the same four
// steps in every command (a logger, go-redis's log lines routed to it, a
// client, a wait for Redis to answer), each a method, Start all of them.
type Setup struct {
	// URL is the Redis URL (see OpenWith).
	URL string
	// URLFrom names where URL came from, for messages about it: the flag
	// (--redis) or the environment variable (BITQUEUE_REDIS_URL, …).
	URLFrom string
	// Options are the settings that do not come from the URL.
	Options Options
	// PoolSize, when positive, raises Options.PoolSize to at least that.
	PoolSize int
	// Wait bounds how long WaitFor (and Start) wait for Redis to answer;
	// Start does not wait when it is not positive.
	Wait time.Duration
	// LogFormat ("text" or "json") and LogLevel ("debug", "info", "warn"
	// or "error") shape the logger (logging.New).
	LogFormat, LogLevel string
}

// SettingError is an error of a setting — the URL, a TLS file, the log
// format or level — rather than of Redis: commands exit 2 on it (it is a
// cli.SettingFault).
type SettingError struct{ Err error }

func (e *SettingError) Error() string { return e.Err.Error() }
func (e *SettingError) Unwrap() error { return e.Err }

// SettingFault marks the error as a setting's fault.
func (e *SettingError) SettingFault() {}

// Logger returns the command's logger, writing to w, and routes go-redis's
// own log lines to it (logging.RouteRedis). Its error is a *SettingError.
func (s Setup) Logger(w io.Writer) (*slog.Logger, error) {
	log, err := logging.New(w, s.LogFormat, s.LogLevel)
	if err != nil {
		return nil, &SettingError{err}
	}
	logging.RouteRedis(log)
	return log, nil
}

// Open returns a client of s.URL with s.Options and s.PoolSize; it contacts
// nothing, so that a malformed URL is refused before any other work. Its
// error is a *SettingError.
func (s Setup) Open() (redis.UniversalClient, error) {
	o := s.Options
	o.PoolSize = max(o.PoolSize, s.PoolSize)
	rdb, err := OpenWith(s.URL, o)
	if err != nil {
		var ue *URLError
		if errors.As(err, &ue) {
			ue.Setting = s.URLFrom
		}
		return nil, &SettingError{err}
	}
	return rdb, nil
}

// WaitFor waits up to s.Wait for rdb to answer (see Wait).
func (s Setup) WaitFor(ctx context.Context, rdb redis.UniversalClient, log *slog.Logger) error {
	return Wait(ctx, rdb, s.URL, s.Wait, log)
}

// Start makes the logger (to stderr), opens the client and, when s.Wait is
// positive, waits for Redis to answer. The caller closes the client.
func (s Setup) Start(ctx context.Context, stderr io.Writer) (redis.UniversalClient, *slog.Logger, error) {
	log, err := s.Logger(stderr)
	if err != nil {
		return nil, nil, err
	}
	rdb, err := s.Open()
	if err != nil {
		return nil, nil, err
	}
	if s.Wait > 0 {
		if err := s.WaitFor(ctx, rdb, log); err != nil {
			rdb.Close()
			return nil, nil, err
		}
	}
	return rdb, log, nil
}
