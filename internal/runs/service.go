// Package runs is the one door to a run's life: Service enqueues a run once
// (binding its id to what it is), waits for it, tells its state, requeues
// what failed or was lost, writes its rows, lists runs and deletes them.
//
// A run is a record created once and read by everything else. Its first
// producer creates it, holding the run's fingerprint (queue, shards, batch
// size, integers, input); a later producer of the id must give the same
// fingerprint, or it enqueues nothing (*MismatchError). A batch is in one of
// four states (BatchState), decided in one place from the run's record, its
// done marks, its result keys and asynq's tasks:
//
//	pending  no result yet, and a task that can still run
//	done     its result is stored (a done mark alone is not enough)
//	failed   its task is archived: Requeue sends it back
//	lost     no result and no task that can run: Requeue enqueues it again
//	         from the run's input, and so does a producer run again
//
// and a run is running, done or deleted (RunState). Delete turns the record
// into a tombstone that keeps the id bound, then removes the run's tasks,
// results and done marks. Every Redis command goes through package rdb;
// docs/runs.md describes the model.
package runs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"bitqueue/internal/base"
	"bitqueue/internal/input"
	"bitqueue/internal/outage"
	"bitqueue/internal/rdb"

	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Config is what a Service needs: its Redis, the options of the tasks it
// enqueues, and how long it keeps records and rides out outages. New fills
// the zero values that have a default and refuses the rest.
type Config struct {
	// RDB reaches Redis; required.
	RDB *rdb.RDB
	// MaxRetry is how many times asynq retries a failed batch (0: never).
	MaxRetry int
	// TaskTimeout, when positive, is how long a worker may spend on one
	// batch: asynq cancels the handler's context then and retries the batch.
	TaskTimeout time.Duration
	// Retention, when positive, is how long asynq keeps a finished batch's
	// task, so that its task id still refuses a second enqueue of the batch
	// after it is done (a replica that saw no result yet, a re-run).
	Retention time.Duration
	// Concurrency is the number of enqueues in flight at once; default 1.
	Concurrency int
	// RecordTTL is how long a run's record is kept; default base.DefaultTTL.
	RecordTTL time.Duration
	// RedisWait bounds how long a Redis outage is ridden out, with backoff,
	// before an operation gives up; default outage.DefaultBound.
	RedisWait time.Duration
	// LostAfter is how long Wait lets the done count stand still before it
	// looks for lost batches; default DefaultLostAfter.
	LostAfter time.Duration
	// Logger receives the service's log lines; default: none.
	Logger *slog.Logger
	// Tracer makes the spans of Enqueue, Wait and WriteRows (the tasks
	// Enqueue makes carry its span's context); default: none, a no-op.
	Tracer trace.Tracer
}

// DefaultLostAfter is how long Wait lets the done count stand still before it
// looks for lost batches, unless Config.LostAfter says otherwise.
const DefaultLostAfter = 10 * time.Second

// WithDefaults returns c with each zero setting that has a default set to
// it: Concurrency 1, RecordTTL base.DefaultTTL, RedisWait
// outage.DefaultBound, LostAfter DefaultLostAfter, a Logger that discards,
// a Tracer that records nothing.
func (c Config) WithDefaults() Config {
	if c.Concurrency == 0 {
		c.Concurrency = 1
	}
	if c.RecordTTL == 0 {
		c.RecordTTL = base.DefaultTTL
	}
	if c.RedisWait == 0 {
		c.RedisWait = outage.DefaultBound
	}
	if c.LostAfter == 0 {
		c.LostAfter = DefaultLostAfter
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Tracer == nil {
		c.Tracer = noop.NewTracerProvider().Tracer("")
	}
	return c
}

// validate names the first setting of c out of its range.
func (c Config) validate() error {
	switch {
	case c.RDB == nil:
		return errors.New("runs: Config needs an RDB")
	case c.MaxRetry < 0:
		return fmt.Errorf("runs: Config.MaxRetry %d must not be negative", c.MaxRetry)
	case c.Concurrency < 1:
		return fmt.Errorf("runs: Config.Concurrency %d must be at least 1", c.Concurrency)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"TaskTimeout", c.TaskTimeout}, {"Retention", c.Retention}, {"RecordTTL", c.RecordTTL}, {"RedisWait", c.RedisWait}, {"LostAfter", c.LostAfter}} {
		if d.v < 0 {
			return fmt.Errorf("runs: Config.%s %s must not be negative", d.name, d.v)
		}
	}
	return nil
}

// Service runs runs. Build one with New; it is safe for concurrent use.
type Service struct {
	Config
	rider *outage.Rider
}

// New returns the Service of c with its defaults filled in (see
// Config.WithDefaults), or an error naming the first setting out of range.
func New(c Config) (*Service, error) {
	c = c.WithDefaults()
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &Service{Config: c, rider: outage.New(c.RedisWait, c.Logger)}, nil
}

// ErrUnknownRun is wrapped by Load's error for a run without a record.
var ErrUnknownRun = errors.New("unknown run")

// Load reads the record of runID; its error wraps ErrUnknownRun when there
// is none (the run was never enqueued under this prefix, or its record
// expired). A tombstone is returned like a live record, with Deleted set.
func (s *Service) Load(ctx context.Context, runID string) (base.Record, error) {
	var rec base.Record
	var found bool
	err := s.rider.Do(ctx, "read the run's record", func() (err error) {
		rec, found, err = s.RDB.LoadRecord(ctx, runID)
		return err
	})
	switch {
	case err != nil:
		return base.Record{}, err
	case !found:
		return base.Record{}, fmt.Errorf("run %q: %w: no record at %s (never enqueued under prefix %q, or expired)",
			runID, ErrUnknownRun, base.RecordKey(s.RDB.Prefix(), runID), s.RDB.Prefix())
	}
	return rec, nil
}

// queueOf returns the queue batch seq of rec's run goes to.
func queueOf(rec base.Record, seq uint64) string {
	return base.QueueOf(rec.Queue, rec.Shards, base.TaskID(rec.RunID, seq))
}

// readBatch fills nums with up to len(nums) integers from s and returns how
// many it read; 0 means the stream is done.
func readBatch(s input.Stream, nums []uint64) (int, error) {
	for i := range nums {
		n, err := s.Next()
		if errors.Is(err, io.EOF) {
			return i, nil
		}
		if err != nil {
			return i, err
		}
		nums[i] = n
	}
	return len(nums), nil
}

// wakeFor wakes idle workers once n batches were sent to their queues: the
// whole fleet for several, the listeners of one shard channel for one,
// nobody for none. A lost wake-up only costs latency.
func (s *Service) wakeFor(ctx context.Context, n int) {
	switch {
	case n > 1:
		_ = s.RDB.WakeFleet(ctx)
	case n == 1:
		_, _ = s.RDB.WakeSome(ctx)
	}
}
