// Command slowworker is a bitqueue worker for fault tests only: the real
// handler (tasks.BitsHandler, with its cache built by a startup hook, through
// worker.Serve) behind a delay, so that chosen batches are slow or stuck. The
// e2e tests build it; it is never shipped, and the production worker has no
// such delay.
package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"bitqueue/internal/cache"
	"bitqueue/internal/cli"
	"bitqueue/internal/logging"
	"bitqueue/internal/redisconn"
	"bitqueue/internal/results"
	"bitqueue/internal/tasks"
	"bitqueue/internal/worker"
)

func main() { cli.Main("slowworker", run) }

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f, slow, err := parse(args, getenv, stdout)
	if err != nil {
		return err
	}
	log, err := logging.New(stderr, f.Log.Format, f.Log.Level)
	if err != nil {
		return &cli.UsageError{Err: err}
	}
	db, err := redisconn.Setup{URL: f.Redis.URL, Options: f.Redis.Options(getenv), PoolSize: f.Concurrency + 10, Prefix: f.Prefix.Prefix}.Open()
	if err != nil {
		return &cli.UsageError{Err: err}
	}
	defer db.Close()

	store := &results.Saver{RDB: db}
	hook := worker.HookFunc[*cache.Cache](func(context.Context) (*cache.Cache, error) {
		c, _, err := cache.Build(16)
		return c, err
	})
	return worker.Serve(ctx, worker.Config{
		RDB:             db,
		RedisURL:        f.Redis.URL,
		RedisWait:       30 * time.Second,
		Queues:          []string{f.Queue},
		Concurrency:     f.Concurrency,
		ShutdownTimeout: f.ShutdownTimeout,
		PollInterval:    10 * time.Millisecond,
		Logger:          log,
	}, hook, func(c *cache.Cache) asynq.Handler {
		real := &tasks.BitsHandler{Cache: c, Store: store, Logger: log}
		return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
			id, _ := asynq.GetTaskID(ctx)
			if !isSlow(id, slow) {
				return real.ProcessTask(ctx, t)
			}
			log.Info("slow batch started", "task_id", id, "delay", f.Delay)
			timer := time.NewTimer(f.Delay)
			defer timer.Stop()
			select {
			case <-ctx.Done():
				log.Info("slow batch cancelled", "task_id", id, "err", context.Cause(ctx))
				return fmt.Errorf("batch %s: %w", id, ctx.Err())
			case <-timer.C:
			}
			err := real.ProcessTask(ctx, t)
			log.Info("slow batch done", "task_id", id, "err", err)
			return err
		})
	})
}

// isSlow reports whether the batch of task id "<run-id>:<seq>" stalls.
func isSlow(id string, slow map[uint64]bool) bool {
	if len(slow) == 0 {
		return true
	}
	i := strings.LastIndexByte(id, ':')
	seq, err := strconv.ParseUint(id[i+1:], 10, 64)
	return err == nil && slow[seq]
}
