package main

import (
	"context"
	"fmt"
	"io"

	"github.com/hibiken/asynq"

	"bitqueue/bench/internal/baseline"
	"bitqueue/internal/cache"
	"bitqueue/internal/cli"
	"bitqueue/internal/logging"
	"bitqueue/internal/redisconn"
	"bitqueue/internal/results"
	"bitqueue/internal/worker"
)

// runWorker is a baseline worker process: the production worker's serving
// loops (internal/worker.Serve, real asynq, the same settings, the default
// --loops) with a handler of package baseline:
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
//
// parse has checked f.
func runWorker(ctx context.Context, f workerFlags, stderr io.Writer) error {
	log, err := logging.New(stderr, f.Log.Format, f.Log.Level)
	if err != nil {
		return &cli.UsageError{Err: err}
	}
	if f.Handler == baseline.Bare {
		return baseline.ServeBare(ctx, f.Redis, f.Queue, f.PollInterval, log)
	}
	// The production worker's loops and pools (cmd/worker).
	loop := redisconn.Setup{URL: f.Redis, PoolSize: max(f.Concurrency, 8) + 10, Prefix: f.Prefix.Prefix}
	setup := loop
	setup.PoolSize = worker.DefaultLoops*max(f.Concurrency, 8) + 10
	db, err := setup.Open()
	if err != nil {
		return &cli.UsageError{Err: err}
	}
	defer db.Close()
	cfg := worker.Config{
		RDB: db, RedisURL: f.Redis, Queues: []string{f.Queue},
		Concurrency: f.Concurrency, Loops: worker.DefaultLoops, Open: loop.Open,
		PollInterval: f.PollInterval, Logger: log,
	}
	store := &results.Saver{RDB: db, TTL: f.ResultTTL}

	switch f.Handler {
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
		return fmt.Errorf("--handler %q: no such baseline", f.Handler)
	}
}
