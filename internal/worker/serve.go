package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"bitqueue/internal/rdb"
	"bitqueue/internal/redisconn"
)

// Config is how a worker process serves. Zero values take the defaults noted.
type Config struct {
	// RDB is the worker's Redis, under the fleet's key prefix: the worker
	// listens on that prefix's wake channels (rdb.ListenWake).
	RDB      *rdb.RDB
	RedisURL string // for messages only; it is redacted before use
	// RedisWait bounds how long start-up waits for Redis to answer (30 s).
	RedisWait time.Duration
	Queues    []string // queues to pull from, all with the same priority
	// Concurrency is the number of tasks each loop processes at once (8):
	// a process processes up to Loops × Concurrency.
	Concurrency int
	// Loops is the most dequeue loops the process runs (1): asynq servers
	// sharing the startup hook's state and the handler, each pulling one
	// task per round trip to Redis. The first runs for the whole of Serve;
	// each other one starts when a loop finds two tasks in a row, waits
	// without polling while the queues are empty, and stops once it has
	// found no task for IdleAfter, so that an idle process runs one loop.
	// See loops.
	Loops int
	// Open opens another RDB on the worker's Redis, with a go-redis client
	// of its own, for a loop beyond the first; the loop closes it when it
	// stops. Required when Loops is above 1.
	Open func() (*rdb.RDB, error)
	// ShutdownTimeout is how long in-flight tasks may run after shutdown
	// begins before they are handed back to the queue (10 s).
	ShutdownTimeout time.Duration
	// PollInterval is how often an idle worker looks for new tasks (5 s):
	// the period of its polls once it has had no task for IdleAfter, each
	// poll after a random wait of 0.5 to 1.5 times it, so that the polls of
	// a fleet spread out and one of N idle workers finds a new task after
	// about PollInterval / (N + 1). A wake-up on WakeChannel ends the wait.
	PollInterval time.Duration
	// BusyPollInterval is how often a busy worker looks for new tasks when
	// its queues are empty (25 ms, at most PollInterval): asynq's
	// TaskCheckInterval.
	BusyPollInterval time.Duration
	// IdleAfter is how long a worker stays busy, polling every
	// BusyPollInterval, after its last task or wake-up (2 s).
	IdleAfter time.Duration
	Logger    *slog.Logger
	// Readiness, when set, is told each time one of the worker's readiness
	// checks changes: check "serve" fails with StartupReason while the hook
	// runs, with "waiting for Redis" until Redis answers, passes just before
	// the first task is pulled, and fails with "shutting down" once shutdown
	// begins; check "redis" fails while asynq's periodic ping of Redis
	// (every HealthCheckInterval) fails. reason is empty when check passes.
	// health.State's Report has this signature.
	Readiness func(check, reason string)
	// StartupReason is the readiness reason while the hook runs ("startup
	// hook running").
	StartupReason string
	// HealthCheckInterval is how often a serving worker pings Redis to
	// report the "redis" check (15 s).
	HealthCheckInterval time.Duration
}

// Periods of asynq's own background work, longer than asynq's defaults (5 s
// and 8 s) because every worker of a fleet runs them, idle or not; see
// docs/scaling.md, "Idle fleet".
const (
	// forwardInterval is how often a worker moves the due tasks of its
	// queues' retry and scheduled sets to pending: it adds up to this much
	// to a retry's delay when one worker serves, much less in a fleet.
	forwardInterval = 15 * time.Second
	// janitorInterval is how often a worker deletes up to 100 expired
	// completed tasks (those enqueued with a retention) per queue.
	janitorInterval = 30 * time.Second
)

// Serve runs one worker process until ctx is cancelled: it calls hook.Start
// once, waits for Redis, passes the state to newHandler once, and serves
// tasks from cfg.Queues with the handler, in up to cfg.Loops dequeue loops.
// On cancellation it stops pulling tasks, lets in-flight ones finish for up
// to cfg.ShutdownTimeout, hands back the rest, and returns nil. Serve
// returns an error, having pulled no task, when the hook fails or Redis does
// not answer in time.
func Serve[S any](ctx context.Context, cfg Config, hook Hook[S], newHandler func(S) asynq.Handler) error {
	cfg = cfg.withDefaults()
	log := cfg.Logger
	if len(cfg.Queues) == 0 {
		return errors.New("worker: no queues to serve")
	}
	if cfg.Loops > 1 && cfg.Open == nil {
		return fmt.Errorf("worker: %d loops, and no Open for the loops beyond the first", cfg.Loops)
	}

	start := time.Now()
	cfg.Readiness(checkServe, cfg.StartupReason)
	state, err := hook.Start(ctx)
	if err != nil {
		cfg.Readiness(checkServe, "shutting down")
		if ctx.Err() != nil {
			return nil // stopped during start-up: nothing was pulled
		}
		return fmt.Errorf("startup hook: %w", err)
	}
	log.Info("startup hook done", "took", time.Since(start).Round(time.Microsecond))
	cfg.Readiness(checkServe, "waiting for Redis")

	if err := redisconn.Wait(ctx, cfg.RDB, cfg.RedisURL, cfg.RedisWait, log); err != nil {
		cfg.Readiness(checkServe, "shutting down")
		if ctx.Err() != nil {
			return nil // stopped while waiting: Redis did not time out
		}
		return err
	}
	if ctx.Err() != nil {
		cfg.Readiness(checkServe, "shutting down")
		return nil
	}

	// Pace the polls of empty queues: fast while busy, slow while idle.
	stopping := make(chan struct{})
	stopPacing := sync.OnceFunc(func() { close(stopping) })
	defer stopPacing()
	p := newPacer(cfg, stopping)
	if p.pace {
		p.publish = func() {
			// In the background: a lost wake-up only costs latency.
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = cfg.RDB.WakeFleet(ctx)
			}()
		}
	}
	// A worker listens on its fleet's wake channels even when it does not
	// pace its polls: a producer tells by the listeners which prefix the
	// fleet writes its results under.
	defer cfg.RDB.ListenWake(ctx, p.wake)()
	handler := newHandler(state)
	ls := newLoops(cfg, p, handler)
	var grow func()
	if cfg.Loops > 1 {
		grow = ls.grow
	}
	first := p.loop(true, grow, nil)
	cfg.RDB.HookDequeues(cfg.Queues, first.before, first.after)
	srv := cfg.RDB.NewServer(asynqConfig(cfg, true))
	// Ready just before the first task can be pulled: readiness and the
	// startup hook are one thing.
	cfg.Readiness(checkServe, "")
	if err := srv.Start(handler); err != nil {
		cfg.Readiness(checkServe, "not serving: "+err.Error())
		return err
	}
	log.Info("serving", "queues", cfg.Queues, "concurrency", cfg.Concurrency, "loops", cfg.Loops, "ready_after", time.Since(start).Round(time.Microsecond))

	<-ctx.Done()
	stopPacing() // a poll held back by the pacer returns at once
	cfg.Readiness(checkServe, "shutting down")
	log.Info("shutdown begun", "timeout", cfg.ShutdownTimeout)
	began := time.Now()
	ls.shutdown(srv)
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
	if c.Loops <= 0 {
		c.Loops = 1
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = 10 * time.Second
	}
	if c.PollInterval <= 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.BusyPollInterval <= 0 {
		c.BusyPollInterval = DefaultBusyPollInterval
	}
	c.BusyPollInterval = min(c.BusyPollInterval, c.PollInterval)
	if c.IdleAfter <= 0 {
		c.IdleAfter = DefaultIdleAfter
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Readiness == nil {
		c.Readiness = func(string, string) {}
	}
	if c.StartupReason == "" {
		c.StartupReason = "startup hook running"
	}
	if c.HealthCheckInterval <= 0 {
		c.HealthCheckInterval = 15 * time.Second
	}
	return c
}

// Defaults of Config's poll intervals and of how long a worker stays busy.
const (
	// DefaultLoops is cmd/worker's default --loops (Config.Loops is 1 when
	// zero): enough dequeue loops for a worker a few milliseconds of
	// round trip away from Redis to run as fast as on loopback; see
	// docs/scaling.md, "Across hosts".
	DefaultLoops = 16
	// MaxLoops bounds cmd/worker's --loops: each loop is an asynq server
	// with connections of its own to every master.
	MaxLoops = 64

	DefaultPollInterval     = 5 * time.Second
	DefaultBusyPollInterval = 25 * time.Millisecond
	DefaultIdleAfter        = 2 * time.Second
)

// asynqConfig is the configuration of a loop's asynq server: of the first
// loop, which alone forwards retries, cleans expired tasks and checks
// Redis's health, or of one beyond it, which leaves all three to the first.
func asynqConfig(cfg Config, first bool) asynq.Config {
	log := cfg.Logger
	queues := make(map[string]int, len(cfg.Queues))
	for _, q := range cfg.Queues {
		queues[q] = 1
	}
	c := asynq.Config{
		Concurrency:              cfg.Concurrency,
		Queues:                   queues,
		ShutdownTimeout:          cfg.ShutdownTimeout,
		TaskCheckInterval:        cfg.BusyPollInterval,
		DelayedTaskCheckInterval: forwardInterval,
		JanitorInterval:          janitorInterval,
		RetryDelayFunc:           RetryDelay,
		Logger:                   asynqLogger{log},
		LogLevel:                 asynq.WarnLevel,
		ErrorHandler: asynq.ErrorHandlerFunc(func(ctx context.Context, t *asynq.Task, err error) {
			id, _ := asynq.GetTaskID(ctx)
			retried, _ := asynq.GetRetryCount(ctx)
			maxRetry, _ := asynq.GetMaxRetry(ctx)
			// One line per failure, naming the task: asynq's own line for
			// an archived task is demoted to debug (see asynqLogger).
			if errors.Is(err, asynq.SkipRetry) || retried >= maxRetry {
				log.Error("task failed permanently; archived", "task_id", id, "retried", retried, "max_retry", maxRetry, "err", err)
				return
			}
			log.Warn("task failed; will retry", "task_id", id, "retried", retried, "max_retry", maxRetry, "err", err)
		}),
		HealthCheckInterval: cfg.HealthCheckInterval,
	}
	if first {
		c.HealthCheckFunc = redisHealth(cfg, log)
	} else {
		// asynq has no switch for these; a period longer than such a
		// loop usually lives does. No health checker at all.
		c.DelayedTaskCheckInterval, c.JanitorInterval = extraInterval, extraInterval
	}
	return c
}

// extraInterval is the forwarding and cleaning period of a loop beyond the
// first: they are the first loop's work.
const extraInterval = time.Hour

// Readiness checks reported by Serve; see Config.Readiness.
const (
	checkServe = "serve"
	checkRedis = "redis"
)

// redisHealth returns asynq's HealthCheckFunc: it reports the "redis" check
// and logs one line when Redis stops or starts answering again. asynq calls
// it from one goroutine, so failing needs no lock.
func redisHealth(cfg Config, log *slog.Logger) func(error) {
	failing := false
	return func(err error) {
		if err == nil { // asynq pinged one node; a cluster is ready when every master answers
			ctx, cancel := context.WithTimeout(context.Background(), cfg.HealthCheckInterval)
			err = cfg.RDB.PingMasters(ctx)
			cancel()
		}
		switch {
		case err != nil:
			if !failing {
				log.Warn("redis unreachable; not ready", "redis", redisconn.Redact(cfg.RedisURL), "err", err)
			}
			failing = true
			cfg.Readiness(checkRedis, "Redis unreachable: "+err.Error())
		case failing:
			failing = false
			log.Info("redis reachable again; ready", "redis", redisconn.Redact(cfg.RedisURL))
			cfg.Readiness(checkRedis, "")
		default:
			cfg.Readiness(checkRedis, "")
		}
	}
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
