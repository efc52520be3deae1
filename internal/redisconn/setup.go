package redisconn

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	"bitqueue/internal/logging"
	"bitqueue/internal/rdb"
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
	// Prefix roots the keys the opened RDB reads and writes
	// (base.DefaultPrefix when empty).
	Prefix string
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
// own log lines to it. Its error is a *SettingError.
func (s Setup) Logger(w io.Writer) (*slog.Logger, error) {
	log, err := logging.New(w, s.LogFormat, s.LogLevel)
	if err != nil {
		return nil, &SettingError{err}
	}
	routeRedisLogs(log)
	return log, nil
}

// Open returns the RDB of s.URL with s.Options and s.PoolSize, under
// s.Prefix; it contacts nothing, so that a malformed URL is refused before
// any other work. Its error is a *SettingError. Closing the RDB closes the
// client.
func (s Setup) Open() (*rdb.RDB, error) {
	o := s.Options
	o.PoolSize = max(o.PoolSize, s.PoolSize)
	client, err := OpenWith(s.URL, o)
	if err != nil {
		var ue *URLError
		if errors.As(err, &ue) {
			ue.Setting = s.URLFrom
		}
		return nil, &SettingError{err}
	}
	return rdb.New(client, s.Prefix), nil
}

// WaitFor waits up to s.Wait for db to answer (see Wait).
func (s Setup) WaitFor(ctx context.Context, db *rdb.RDB, log *slog.Logger) error {
	return Wait(ctx, db, s.URL, s.Wait, log)
}

// Start makes the logger (to stderr), opens the RDB and, when s.Wait is
// positive, waits for Redis to answer. The caller closes the RDB.
func (s Setup) Start(ctx context.Context, stderr io.Writer) (*rdb.RDB, *slog.Logger, error) {
	log, err := s.Logger(stderr)
	if err != nil {
		return nil, nil, err
	}
	db, err := s.Open()
	if err != nil {
		return nil, nil, err
	}
	if s.Wait > 0 {
		if err := s.WaitFor(ctx, db, log); err != nil {
			db.Close()
			return nil, nil, err
		}
	}
	return db, log, nil
}
