package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"bitqueue/internal/redisconn"
)

// Config is how a worker process serves. Zero values take the defaults noted.
type Config struct {
	Redis    redis.UniversalClient
	RedisURL string // for messages only; it is redacted before use
	// RedisWait bounds how long start-up waits for Redis to answer (30 s).
	RedisWait time.Duration
	Queues    []string // queues to pull from, all with the same priority
	// Concurrency is the number of tasks processed at once (8).
	Concurrency int
	// ShutdownTimeout is how long in-flight tasks may run after shutdown
	// begins before they are handed back to the queue (10 s).
	ShutdownTimeout time.Duration
	// PollInterval is how long an idle worker waits before looking for new
	// tasks again (25 ms). It bounds the pickup latency of an idle fleet.
	PollInterval time.Duration
	Logger       *slog.Logger
}

// Serve runs one worker process until ctx is cancelled: it calls hook.Start
// once, waits for Redis, passes the state to newHandler, and serves tasks from
// cfg.Queues with the handler. On cancellation it stops pulling tasks, lets
// in-flight ones finish for up to cfg.ShutdownTimeout, hands back the rest,
// and returns nil. Serve returns an error, having pulled no task, when the
// hook fails or Redis does not answer in time.
func Serve[S any](ctx context.Context, cfg Config, hook Hook[S], newHandler func(S) asynq.Handler) error {
	cfg = cfg.withDefaults()
	log := cfg.Logger
	if len(cfg.Queues) == 0 {
		return errors.New("worker: no queues to serve")
	}

	start := time.Now()
	state, err := hook.Start(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped during start-up: nothing was pulled
		}
		return fmt.Errorf("startup hook: %w", err)
	}
	log.Info("startup hook done", "took", time.Since(start).Round(time.Microsecond))

	if err := redisconn.Wait(ctx, cfg.Redis, cfg.RedisURL, cfg.RedisWait, log); err != nil {
		if ctx.Err() != nil {
			return nil // stopped while waiting: Redis did not time out
		}
		return err
	}
	if ctx.Err() != nil {
		return nil
	}

	queues := make(map[string]int, len(cfg.Queues))
	for _, q := range cfg.Queues {
		queues[q] = 1
	}
	srv := asynq.NewServerFromRedisClient(cfg.Redis, asynq.Config{
		Concurrency:       cfg.Concurrency,
		Queues:            queues,
		ShutdownTimeout:   cfg.ShutdownTimeout,
		TaskCheckInterval: cfg.PollInterval,
		RetryDelayFunc:    RetryDelay,
		Logger:            asynqLogger{log},
		LogLevel:          asynq.WarnLevel,
		ErrorHandler: asynq.ErrorHandlerFunc(func(ctx context.Context, t *asynq.Task, err error) {
			id, _ := asynq.GetTaskID(ctx)
			retried, _ := asynq.GetRetryCount(ctx)
			maxRetry, _ := asynq.GetMaxRetry(ctx)
			log.Warn("task failed", "task_id", id, "retried", retried, "max_retry", maxRetry, "err", err)
		}),
	})
	if err := srv.Start(newHandler(state)); err != nil {
		return err
	}
	log.Info("serving", "queues", cfg.Queues, "concurrency", cfg.Concurrency, "ready_after", time.Since(start).Round(time.Microsecond))

	<-ctx.Done()
	log.Info("shutdown begun", "timeout", cfg.ShutdownTimeout)
	began := time.Now()
	srv.Shutdown()
	log.Info("shutdown done", "took", time.Since(began).Round(time.Millisecond))
	return nil
}

func (c Config) withDefaults() Config {
	if c.RedisWait <= 0 {
		c.RedisWait = 30 * time.Second
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 8
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = 10 * time.Second
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 25 * time.Millisecond
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// RetryDelay is the delay before a failed task runs again. A task whose worker
// died (its lease expired) is retried at once: it did not fail, its process
// did. Other failures back off exponentially from 1 s to 1 min, with jitter.
func RetryDelay(n int, err error, _ *asynq.Task) time.Duration {
	if errors.Is(err, asynq.ErrLeaseExpired) {
		return 0
	}
	d := time.Second << min(max(n, 0), 6)
	d = min(d, time.Minute)
	return d/2 + rand.N(d/2+1)
}
