package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"time"

	"github.com/hibiken/asynq"

	"bitqueue/bench/internal/baseline"
	"bitqueue/internal/base"
	"bitqueue/internal/cache"
	"bitqueue/internal/cli"
	"bitqueue/internal/logging"
	"bitqueue/internal/redisconn"
	"bitqueue/internal/results"
	"bitqueue/internal/worker"
)

// runWorker is a baseline worker process: the production worker's serving
// loop (internal/worker.Serve, real asynq, the same settings) with a handler
// of package baseline:
//
//   - empty: returns at once. The fleet's ceiling: what asynq and Redis
//     cost per task with no work and no result.
//   - shipped: the anti-pattern bitqueue exists to avoid. The process builds
//     nothing at start-up; every task carries the whole serialized cache,
//     which the handler decodes before converting its batch — what a
//     process pool does when the cache is an argument of every call.
//   - bare: not internal/worker.Serve but asynq.NewServer with asynq's
//     defaults (concurrency: the number of CPUs, its logger, health checks
//     and shutdown), serving the queue with an empty handler. One setting
//     departs from asynq's defaults: the idle poll interval (asynq's
//     TaskCheckInterval, 1 s) is the worker's (--poll-interval, 25 ms when 0),
//     since a trial of a fraction of a second would otherwise measure the
//     idle sleep of the processors. Its ceiling against the empty handler's
//     shows what the worker's own set-up costs.
func runWorker(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var (
		handler, redisURL, queue, prefix, logFormat, logLevel string
		resultTTL, pollInterval                               time.Duration
		concurrency                                           int
	)
	fs := flag.NewFlagSet("bench worker", flag.ContinueOnError)
	fs.StringVar(&handler, "handler", "", "empty, shipped or bare")
	fs.StringVar(&redisURL, "redis", redisconn.DefaultURL, "Redis URL")
	fs.StringVar(&queue, "queue", "", "queue to serve")
	fs.StringVar(&prefix, "prefix", base.DefaultPrefix, "root of the result keys")
	fs.DurationVar(&resultTTL, "result-ttl", base.DefaultTTL, "how long results are kept")
	// Zero leaves internal/worker's defaults, which are the worker's.
	fs.IntVar(&concurrency, "concurrency", 0, "tasks processed at once (0: the worker's default)")
	fs.DurationVar(&pollInterval, "poll-interval", 0, "idle poll interval (0: the worker's default)")
	fs.StringVar(&logFormat, "log-format", "text", "text or json")
	fs.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	env := map[string]string{}
	if err := cli.Parse(fs, args, getenv, env); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			cli.PrintUsage(stdout, fs, "bench worker --handler empty|shipped|bare [flags]", env)
		}
		return err
	}
	if queue == "" {
		return cli.Usagef("--queue is required")
	}
	log, err := logging.New(stderr, logFormat, logLevel)
	if err != nil {
		return &cli.UsageError{Err: err}
	}
	if handler == baseline.Bare {
		return baseline.ServeBare(ctx, redisURL, queue, pollInterval, log)
	}
	db, err := redisconn.Setup{URL: redisURL, PoolSize: max(concurrency, 8) + 10, Prefix: prefix}.Open()
	if err != nil {
		return &cli.UsageError{Err: err}
	}
	defer db.Close()
	cfg := worker.Config{
		RDB: db, RedisURL: redisURL, Queues: []string{queue},
		Concurrency: concurrency, PollInterval: pollInterval, Logger: log,
	}
	store := &results.Saver{RDB: db, TTL: resultTTL}

	switch handler {
	case baseline.Empty:
		// The same start-up as the production worker, so the processes
		// differ only in their handler.
		hook := worker.HookFunc[*cache.Cache](func(context.Context) (*cache.Cache, error) { return cache.New(cache.DefaultBits) })
		return worker.Serve(ctx, cfg, hook, func(*cache.Cache) asynq.Handler { return baseline.EmptyHandler() })
	case baseline.Shipped:
		hook := worker.HookFunc[struct{}](func(context.Context) (struct{}, error) { return struct{}{}, nil })
		return worker.Serve(ctx, cfg, hook, func(struct{}) asynq.Handler {
			return &baseline.ShippedHandler{Store: store}
		})
	default:
		return cli.Usagef("--handler %q: want empty, shipped or bare", handler)
	}
}
