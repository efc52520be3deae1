// Command slowworker is a bitqueue worker for fault tests only: the real
// handler (tasks.BitsHandler, with its cache built by a startup hook, through
// worker.Serve) behind a delay, so that chosen batches are slow or stuck. The
// e2e tests build it; it is never shipped, and the production worker has no
// such delay.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"bitqueue/internal/base"
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
	var (
		redisURL, queue, prefix, slowSeqs, logLevel string
		concurrency                                 int
		delay, shutdownTimeout                      time.Duration
	)
	fs := flag.NewFlagSet("slowworker", flag.ContinueOnError)
	fs.StringVar(&redisURL, "redis", redisconn.DefaultURL, "Redis URL")
	fs.StringVar(&queue, "queue", "bits", "queue to pull batches from")
	fs.StringVar(&prefix, "prefix", base.DefaultPrefix, "root of the result keys")
	fs.IntVar(&concurrency, "concurrency", 4, "batches processed at once")
	fs.DurationVar(&delay, "delay", time.Second, "how long each slow batch stalls before it is converted (it gives up early when its context ends)")
	fs.StringVar(&slowSeqs, "slow-seqs", "", "comma-separated batch numbers that stall (empty: every batch)")
	fs.DurationVar(&shutdownTimeout, "shutdown-timeout", 5*time.Second, "on SIGTERM, how long in-flight batches may finish")
	fs.StringVar(&logLevel, "log-level", "info", "log level")
	if err := cli.Parse(fs, args, getenv, nil); err != nil {
		return err
	}
	slow := map[uint64]bool{}
	for s := range strings.SplitSeq(slowSeqs, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return cli.Usagef("--slow-seqs: %q is not a batch number", s)
		}
		slow[n] = true
	}
	log, err := logging.New(stderr, "text", logLevel)
	if err != nil {
		return &cli.UsageError{Err: err}
	}
	db, err := redisconn.Setup{URL: redisURL, PoolSize: concurrency + 10, Prefix: prefix}.Open()
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
		RedisURL:        redisURL,
		RedisWait:       30 * time.Second,
		Queues:          []string{queue},
		Concurrency:     concurrency,
		ShutdownTimeout: shutdownTimeout,
		PollInterval:    10 * time.Millisecond,
		Logger:          log,
	}, hook, func(c *cache.Cache) asynq.Handler {
		real := &tasks.BitsHandler{Cache: c, Store: store, Logger: log}
		return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
			id, _ := asynq.GetTaskID(ctx)
			if !isSlow(id, slow) {
				return real.ProcessTask(ctx, t)
			}
			log.Info("slow batch started", "task_id", id, "delay", delay)
			timer := time.NewTimer(delay)
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
