// Command producer enqueues integers into Redis in batches, one asynq task per
// batch, and can wait for their packed bit arrays and write them out.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"bitqueue/internal/cli"
	"bitqueue/internal/input"
	"bitqueue/internal/logging"
	"bitqueue/internal/redisconn"
	"bitqueue/internal/results"
	"bitqueue/internal/runs"
	"bitqueue/internal/schedule"
	"bitqueue/internal/shard"
	"bitqueue/internal/tasks"
	"bitqueue/internal/wake"
)

func main() { cli.Main("producer", run) }

var env = map[string]string{
	"redis":                 "REDIS_URL",
	"redis-wait":            "BITQUEUE_REDIS_WAIT",
	"queue":                 "BITQUEUE_QUEUE",
	"prefix":                "BITQUEUE_PREFIX",
	"batch-size":            "BITQUEUE_BATCH_SIZE",
	"max-retry":             "BITQUEUE_MAX_RETRY",
	"task-timeout":          "BITQUEUE_TASK_TIMEOUT",
	"record-ttl":            "BITQUEUE_RECORD_TTL",
	"shards":                "BITQUEUE_SHARDS",
	"redis-ca":              redisconn.EnvCA,
	"redis-tls-server-name": redisconn.EnvServerName,
	"log-format":            "BITQUEUE_LOG_FORMAT",
	"log-level":             "BITQUEUE_LOG_LEVEL",
}

type config struct {
	redisURL    string
	redisWait   time.Duration
	queue       string
	prefix      string
	count       uint64
	max         uint64
	seed        uint64
	seedSet     bool
	input       string
	batchSize   int
	runID       string
	wait        bool
	timeout     time.Duration
	out         string
	maxRetry    int
	taskTimeout time.Duration
	recordTTL   time.Duration
	concurrency int
	logFormat   string
	logLevel    string
	retention   time.Duration
	sched       scheduled
	shards      int
	redisOpts   redisconn.Options // TLS settings and passwords; PoolSize is set at Open
}

func parse(args []string, getenv func(string) string, stdout io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("producer", flag.ContinueOnError)
	fs.StringVar(&c.redisURL, "redis", redisconn.DefaultURL, "Redis URL: redis://[user:password@]host:port/db, rediss://…, redis-sentinel://host:port[,…][/db]?master=NAME or redis-cluster://host:port[,…] (password: in the URL or $REDIS_PASSWORD)")
	c.redisOpts.AddFlags(fs)
	fs.DurationVar(&c.redisWait, "redis-wait", 10*time.Second, "how long to wait for Redis to answer, at start-up and during an outage, before giving up")
	fs.StringVar(&c.queue, "queue", "bits", "queue to enqueue batches on")
	fs.IntVar(&c.shards, "shards", 1, fmt.Sprintf("spread the batches over this many queues, <queue>-0 … <queue>-(N-1), by a hash of their task id, 1..%d; give the workers the same --shards", shard.MaxShards))
	fs.StringVar(&c.prefix, "prefix", results.DefaultPrefix, "root of the result keys, as given to the workers")
	fs.Uint64Var(&c.count, "count", 0, "enqueue this many random integers (exclusive with --input)")
	fs.Uint64Var(&c.max, "max", 1<<20, "random integers are drawn uniformly from [0, max), max in 1..2^63")
	fs.Uint64Var(&c.seed, "seed", 0, "seed of the random integers (default: derived from the run id, so a re-run draws the same ones)")
	fs.StringVar(&c.input, "input", "", "read decimal integers separated by whitespace from this file, - for stdin (exclusive with --count)")
	fs.IntVar(&c.batchSize, "batch-size", 1000, fmt.Sprintf("integers per batch, 1..%d", tasks.MaxBatch))
	fs.StringVar(&c.runID, "run-id", "", "id of the run, [A-Za-z0-9._-]{1,128}; re-running with the same id enqueues nothing twice (default: generated and logged)")
	fs.BoolVar(&c.wait, "wait", false, "wait until every batch of the run has its result")
	fs.DurationVar(&c.timeout, "timeout", 0, "with --wait, give up after this long (0: no limit)")
	fs.StringVar(&c.out, "out", "", "with --wait, write \"<n>\\t<bitstring>\" per input integer, in input order, to this file (- for stdout)")
	fs.IntVar(&c.maxRetry, "max-retry", 10, "retries of a failing batch before it is archived as failed, 0..100")
	fs.DurationVar(&c.taskTimeout, "task-timeout", time.Minute, "how long a worker may spend on one batch before it is cancelled and retried, 1s..24h")
	fs.IntVar(&c.concurrency, "concurrency", 8, "enqueues in flight at once, 1..256")
	fs.DurationVar(&c.recordTTL, "record-ttl", results.DefaultTTL, "how long the run's record, read by producer status and requeue, is kept (at least 1s; match the workers' --result-ttl)")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	addScheduleFlags(fs, &c)
	if err := cli.Parse(fs, args, getenv, env); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			cli.PrintUsage(stdout, fs, "producer (--count N | --input FILE) [flags]\n       producer --schedule SPEC (--count N | --input FILE) [flags]\n       producer status --run-id ID [--json]   (see producer status -h)\n       producer requeue --run-id ID           (see producer requeue -h)", env)
		}
		return c, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	c.seedSet = set["seed"]
	c.redisOpts.ReadSecrets(getenv)
	if err := shard.Validate(c.shards); err != nil {
		return c, &cli.UsageError{Err: err}
	}
	if c.shards > 1 && c.sched.spec != "" {
		return c, cli.Usagef("--shards with --schedule is not supported")
	}
	if err := c.sched.check(&c, set); err != nil {
		return c, err
	}
	switch {
	case set["count"] == (c.input != ""):
		return c, cli.Usagef("give exactly one of --count N and --input FILE")
	case set["count"] && (c.count < 1 || c.count > math.MaxInt64):
		return c, cli.Usagef("--count %d out of range [1, 2^63-1]", c.count)
	case c.max < 1 || c.max > 1<<63:
		return c, cli.Usagef("--max %d out of range [1, 2^63]", c.max)
	case c.input != "" && (set["max"] || set["seed"]):
		return c, cli.Usagef("--max and --seed apply to --count, not --input")
	case c.batchSize < 1 || c.batchSize > tasks.MaxBatch:
		return c, cli.Usagef("--batch-size %d out of range [1, %d]", c.batchSize, tasks.MaxBatch)
	case c.timeout < 0:
		return c, cli.Usagef("--timeout %s must not be negative", c.timeout)
	case !c.wait && (c.out != "" || c.timeout > 0):
		return c, cli.Usagef("--out and --timeout need --wait")
	case c.maxRetry < 0 || c.maxRetry > 100:
		return c, cli.Usagef("--max-retry %d out of range [0, 100]", c.maxRetry)
	case c.taskTimeout < time.Second || c.taskTimeout > 24*time.Hour:
		return c, cli.Usagef("--task-timeout %s out of range [1s, 24h]", c.taskTimeout)
	case c.concurrency < 1 || c.concurrency > 256:
		return c, cli.Usagef("--concurrency %d out of range [1, 256]", c.concurrency)
	case c.recordTTL < time.Second:
		return c, cli.Usagef("--record-ttl %s must be at least 1s", c.recordTTL)
	case c.redisWait <= 0:
		return c, cli.Usagef("--redis-wait %s must be positive", c.redisWait)
	case c.queue == "" || strings.ContainsAny(c.queue, " \t\r\n"):
		return c, cli.Usagef("--queue %q must be non-empty without spaces", c.queue)
	case c.prefix == "" || strings.ContainsAny(c.prefix, " \t\r\n"):
		return c, cli.Usagef("--prefix %q must be non-empty without spaces", c.prefix)
	}
	if c.runID != "" {
		if err := tasks.ValidateRunID(c.runID); err != nil {
			return c, cli.Usagef("--run-id: %v", err)
		}
	}
	return c, nil
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "status":
			return runStatus(ctx, args[1:], getenv, stdout, stderr)
		case "requeue":
			return runRequeue(ctx, args[1:], getenv, stdout, stderr)
		}
	}
	c, err := parse(args, getenv, stdout)
	if err != nil {
		return err
	}
	log, err := logging.New(stderr, c.logFormat, c.logLevel)
	if err != nil {
		return &cli.UsageError{Err: err}
	}
	logging.RouteRedis(log)
	if c.sched.spec != "" {
		return runScheduled(ctx, c, log, schedule.SystemClock{})
	}
	if c.runID == "" {
		c.runID = runs.NewID(time.Now())
	}

	// Open contacts nothing: a malformed URL is refused before any input is read.
	ro := c.redisOpts
	ro.PoolSize = c.concurrency + 2
	rdb, err := redisconn.OpenWith(c.redisURL, ro)
	if err != nil {
		return &cli.UsageError{Err: err}
	}
	defer rdb.Close()

	var src input.Source
	switch {
	case c.input == "-":
		s, remove, err := input.Spool(os.Stdin, "", "stdin")
		if err != nil {
			return err
		}
		defer remove()
		src = s
	case c.input != "":
		src = input.File(c.input)
	default:
		if !c.seedSet {
			c.seed = runs.SeedFor(c.runID)
		}
		src = input.Random(c.seed, c.count, c.max)
	}
	// Every token is checked before anything is enqueued.
	total, err := runs.Count(src)
	if err != nil {
		var bad *input.Error
		if errors.As(err, &bad) {
			return &cli.UsageError{Err: err}
		}
		return err
	}
	log.Info("run", "run_id", c.runID, "source", src.Name(), "integers", total, "batches", runs.Batches(total, c.batchSize), "seed", c.seed)

	if err := redisconn.Wait(ctx, rdb, c.redisURL, c.redisWait, log); err != nil {
		return err
	}
	client := asynq.NewClientFromRedisClient(rdb)
	defer client.Close()
	inspector := asynq.NewInspectorFromRedisClient(rdb)
	p := &runs.Producer{
		Client:      client,
		Inspector:   inspector,
		Store:       &results.Store{Client: rdb, Prefix: c.prefix},
		Queue:       c.queue,
		Shards:      c.shards,
		BatchSize:   c.batchSize,
		MaxRetry:    c.maxRetry,
		Concurrency: c.concurrency,
		TaskTimeout: c.taskTimeout,
		Retention:   c.retention,
		RedisWait:   c.redisWait,
		Logger:      log,
		RecordTTL:   c.recordTTL,
	}
	logPlacement(ctx, rdb, p.Queues(), log)
	start := time.Now()
	// Wake the fleet's idle workers while enqueueing, so that they pull at
	// once rather than at their next idle poll.
	stopWake := wake.While(ctx, rdb, c.prefix, time.Second)
	st, err := p.Enqueue(ctx, c.runID, src, total)
	stopWake()
	if err != nil {
		return err
	}
	log.Info("enqueued", "run_id", c.runID, "batches", st.Batches, "new", st.Enqueued, "already_queued", st.Queued, "already_done", st.Done, "took", time.Since(start).Round(time.Millisecond))
	if !c.wait {
		return nil
	}

	waitCtx := ctx
	if c.timeout > 0 {
		var cancel context.CancelFunc
		waitCtx, cancel = context.WithTimeoutCause(ctx, c.timeout, fmt.Errorf("timed out after %s", c.timeout))
		defer cancel()
	}
	if err := p.Wait(waitCtx, c.runID, st.Batches, progressTo(stderr, log, c.logFormat)); err != nil {
		return err
	}
	if c.out == "" {
		return nil
	}
	return writeOut(ctx, p, c.runID, src, c.out, stdout)
}

func writeOut(ctx context.Context, p *runs.Producer, runID string, src input.Source, path string, stdout io.Writer) (err error) {
	w := stdout
	if path != "-" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer func() {
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}()
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	if err := p.WriteOut(ctx, runID, src, bw); err != nil {
		return err
	}
	return bw.Flush()
}
