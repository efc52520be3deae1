package runs

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	"bitqueue/internal/base"
	"bitqueue/internal/outage"
	"bitqueue/internal/results"
)

// Config is what a Producer needs: its Redis handles, where and how it
// enqueues, and how long it waits. New fills the zero values that have a
// default and refuses the rest.
type Config struct {
	// Client, Inspector and Store reach Redis; all three are required.
	Client    *asynq.Client
	Inspector *asynq.Inspector
	Store     *results.Store
	// Queue is the asynq queue the run's batches go to; required.
	Queue string
	// Shards, when above 1, spreads the batches over the queues Queue-0 …
	// Queue-(Shards-1): see QueueOf. Default 1, at most base.MaxShards.
	Shards int
	// BatchSize is the number of integers of one batch, at least 1.
	BatchSize int
	// MaxRetry is how many times asynq retries a failed batch (0: never).
	MaxRetry int
	// Concurrency is the number of enqueues in flight at once; default 1.
	Concurrency int
	// TaskTimeout, when positive, is how long a worker may spend on one
	// batch: asynq cancels the handler's context then and retries the batch.
	TaskTimeout time.Duration
	// Retention, when positive, is how long asynq keeps a finished batch's
	// task, so that its task id still refuses a second enqueue of the batch
	// after it is done (a replica that saw no result yet, a re-run).
	Retention time.Duration
	// RedisWait bounds how long a Redis outage is ridden out, with backoff,
	// before Enqueue, Wait or WriteOut give up; default outage.DefaultBound.
	RedisWait time.Duration
	// Logger receives the producer's log lines; default: none.
	Logger *slog.Logger
	// RecordTTL is how long the run's record (see Record) is kept; default
	// base.DefaultTTL.
	RecordTTL time.Duration
	// LostAfter is how long Wait lets the done count stand still before it
	// looks for lost batches; default DefaultLostAfter.
	LostAfter time.Duration
}

// New returns a Producer of c with its defaults filled in (see
// Config.WithDefaults), or an error naming the first setting out of range.
func New(c Config) (*Producer, error) {
	c = c.WithDefaults()
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &Producer{Config: c}, nil
}

// WithDefaults returns c with each zero setting that has a default set to
// it: Shards and Concurrency 1, RedisWait outage.DefaultBound, a Logger that
// discards, RecordTTL base.DefaultTTL, LostAfter DefaultLostAfter.
func (c Config) WithDefaults() Config {
	if c.Shards == 0 {
		c.Shards = 1
	}
	if c.Concurrency == 0 {
		c.Concurrency = 1
	}
	if c.RedisWait == 0 {
		c.RedisWait = outage.DefaultBound
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.RecordTTL == 0 {
		c.RecordTTL = base.DefaultTTL
	}
	if c.LostAfter == 0 {
		c.LostAfter = DefaultLostAfter
	}
	return c
}

// validate names the first setting of c out of its range.
func (c Config) validate() error {
	switch {
	case c.Client == nil || c.Inspector == nil || c.Store == nil:
		return errors.New("runs: Config needs a Client, an Inspector and a Store")
	case c.Queue == "":
		return errors.New("runs: Config.Queue is empty")
	case c.Shards < 1 || c.Shards > base.MaxShards:
		return fmt.Errorf("runs: Config.Shards %d out of range [1, %d]", c.Shards, base.MaxShards)
	case c.BatchSize < 1:
		return fmt.Errorf("runs: Config.BatchSize %d must be at least 1", c.BatchSize)
	case c.MaxRetry < 0:
		return fmt.Errorf("runs: Config.MaxRetry %d must not be negative", c.MaxRetry)
	case c.Concurrency < 1:
		return fmt.Errorf("runs: Config.Concurrency %d must be at least 1", c.Concurrency)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"TaskTimeout", c.TaskTimeout}, {"Retention", c.Retention}, {"RedisWait", c.RedisWait}, {"RecordTTL", c.RecordTTL}, {"LostAfter", c.LostAfter}} {
		if d.v < 0 {
			return fmt.Errorf("runs: Config.%s %s must not be negative", d.name, d.v)
		}
	}
	return nil
}
