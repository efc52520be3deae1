// Command worker is one process of a bitqueue worker fleet: it builds its
// bitstring cache once, then converts batches from Redis into packed bit
// arrays until SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"time"

	"github.com/hibiken/asynq"

	"bitqueue/internal/base"
	"bitqueue/internal/cache"
	"bitqueue/internal/cli"
	"bitqueue/internal/logging"
	"bitqueue/internal/outage"
	"bitqueue/internal/redisconn"
	"bitqueue/internal/results"
	"bitqueue/internal/tasks"
	"bitqueue/internal/worker"
)

func main() { cli.Main("worker", run) }

// saveOutage is how long saving a batch's result waits for Redis to come
// back: well within asynq's 30 s task lease, which stops being extended
// while Redis is away.
const saveOutage = 20 * time.Second

type config struct {
	redisURL        string
	redisFrom       string // where --redis came from, for messages: the URL may hold a password
	redisWait       time.Duration
	queues          []string
	concurrency     int
	cacheBits       int
	resultTTL       time.Duration
	prefix          string
	shutdownTimeout time.Duration
	pollInterval    time.Duration
	logFormat       string
	logLevel        string
	cpuProfile      string
	httpAddr        string
	httpFrom        string // --http-addr as the user gave it, for messages
	shards          int
	redisOpts       redisconn.Options // TLS settings and passwords; PoolSize is set at Open
}

// newFlags declares the worker's flags, each with its environment variable
// (BITQUEUE_ and its name, BITQUEUE_REDIS_URL for --redis) and its group in
// the help.
func newFlags(c *config, queues *string) *cli.FlagSet {
	fs := cli.NewFlagSet("worker", "BITQUEUE_")
	fs.Synopsis = []string{"worker [flags]", "worker probe [--url URL] [--timeout D]"}
	fs.Command("probe", "ask a worker's HTTP server whether it is ready; exit 0 if it is (see worker probe -h)")

	fs.Group("Queues")
	fs.StringVar(queues, "queue", "bits", "`queue` to pull batches from (comma-separated for several)")
	fs.IntVar(&c.shards, "shards", 1, fmt.Sprintf("pull from each queue's shards, <queue>-0 … <queue>-(N-1), as the producer's --shards spreads them, 1..%d", base.MaxShards))
	fs.IntVar(&c.concurrency, "concurrency", 8, "batches processed at once, 1..1000")
	fs.DurationVar(&c.pollInterval, "poll-interval", worker.DefaultPollInterval, "how often an idle worker looks for new batches (a busy one: every 25ms, or this if shorter); producers wake idle workers at once")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 10*time.Second, "on SIGTERM, how long in-flight batches may finish before they are handed back")

	fs.Group("Results")
	fs.IntVar(&c.cacheBits, "cache-bits", cache.DefaultBits, fmt.Sprintf("k: cache the bitstrings of every integer below 2^k, %d..%d", cache.MinBits, cache.MaxBits))
	fs.DurationVar(&c.resultTTL, "result-ttl", base.DefaultTTL, "how long results, and the done bitmaps counting them, are kept in Redis")
	fs.StringVar(&c.prefix, "prefix", base.DefaultPrefix, "root of the keys, `prefix`: results at <prefix>:result:<run-id>:<seq>, done bitmaps at <prefix>:done:<run-id>")

	fs.Group("Redis")
	fs.StringVar(&c.redisURL, "redis", redisconn.DefaultURL, redisconn.URLHelp)
	fs.Env("redis", "BITQUEUE_REDIS_URL")
	fs.DurationVar(&c.redisWait, "redis-wait", 30*time.Second, "how long start-up waits for Redis to answer before giving up")
	c.redisOpts.AddFlags(fs.FlagSet)

	fs.Group("Logging")
	fs.StringVar(&c.logFormat, "log-format", "text", "log `format`: text or json")
	fs.StringVar(&c.logLevel, "log-level", "info", "log `level`: debug, info, warn or error")

	fs.Group("HTTP")
	fs.StringVar(&c.httpAddr, "http-addr", httpAuto, "serve /healthz, /readyz and /metrics on this `host:port`; auto: the first free of :8080 … :8099, else any free port; off: no HTTP server")

	fs.Group("Profiling")
	fs.StringVar(&c.cpuProfile, "cpu-profile", "", "write a CPU profile of the process, from start to exit, to this `file` (for profiling; off by default)")

	fs.Examples = []string{
		"# two workers on one host: each serves HTTP on the first free port from :8080",
		"worker --redis redis://127.0.0.1:6379/0 &",
		"worker --redis redis://127.0.0.1:6379/0 &",
		"# JSON logs, four shards of queue bits, readiness on a fixed port",
		"BITQUEUE_LOG_FORMAT=json worker --shards 4 --http-addr :9100",
		"# a container healthcheck",
		"worker probe --url http://127.0.0.1:8080/readyz",
	}
	return fs
}

func parse(args []string, getenv func(string) string, stdout io.Writer) (config, error) {
	var c config
	var queues string
	fs := newFlags(&c, &queues)
	if err := fs.Parse(args, getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.PrintUsage(stdout)
		}
		return c, err
	}
	c.redisOpts.ReadSecrets(getenv)
	c.redisFrom = fs.Origin("redis")
	if base.CheckShards(c.shards) != nil {
		return c, cli.Usagef("%s out of range [1, %d]", fs.Source("shards"), base.MaxShards)
	}
	names, err := cli.QueueList(queues, fs.Source("queue"))
	if err != nil {
		return c, err
	}
	for _, q := range names {
		c.queues = append(c.queues, base.Queues(q, c.shards)...)
	}
	switch {
	case c.concurrency < 1 || c.concurrency > 1000:
		return c, cli.Usagef("%s out of range [1, 1000]", fs.Source("concurrency"))
	case c.cacheBits < cache.MinBits || c.cacheBits > cache.MaxBits:
		return c, cli.Usagef("%s out of range [%d, %d]", fs.Source("cache-bits"), cache.MinBits, cache.MaxBits)
	case c.resultTTL < time.Second:
		return c, cli.Usagef("%s must be at least 1s", fs.Source("result-ttl"))
	case base.CheckPrefix(c.prefix) != nil:
		return c, cli.Usagef("%s must be non-empty without spaces", fs.Source("prefix"))
	case c.shutdownTimeout <= 0:
		return c, cli.Usagef("%s must be positive", fs.Source("shutdown-timeout"))
	case c.redisWait <= 0:
		return c, cli.Usagef("%s must be positive", fs.Source("redis-wait"))
	case c.pollInterval < time.Millisecond || c.pollInterval > time.Minute:
		return c, cli.Usagef("%s out of range [1ms, 1m]", fs.Source("poll-interval"))
	case c.logFormat != "text" && c.logFormat != "json":
		return c, cli.Usagef("%s: want text or json", fs.Source("log-format"))
	}
	if _, err := logging.New(io.Discard, c.logFormat, c.logLevel); err != nil {
		return c, cli.Usagef("%s: want debug, info, warn or error", fs.Source("log-level"))
	}
	c.httpFrom = fs.Source("http-addr")
	if err := checkHTTPAddr(c.httpAddr, c.httpFrom); err != nil {
		return c, err
	}
	return c, nil
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	args = cli.Subcommand(args, "probe")
	if len(args) > 0 && args[0] == "probe" {
		return probe(ctx, args[1:], getenv, stdout, stderr)
	}
	c, err := parse(args, getenv, stdout)
	if err != nil {
		return err
	}
	setup := redisconn.Setup{URL: c.redisURL, URLFrom: c.redisFrom, Options: c.redisOpts, PoolSize: c.concurrency + 10, Wait: c.redisWait, LogFormat: c.logFormat, LogLevel: c.logLevel, Prefix: c.prefix}
	log, err := setup.Logger(stderr)
	if err != nil {
		return err
	}
	if c.cpuProfile != "" {
		stop, err := startCPUProfile(c.cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	db, err := setup.Open()
	if err != nil {
		return err
	}
	defer db.Close()
	log.Info("worker starting", "redis", redisconn.Redact(c.redisURL), "queues", c.queues, "cache_bits", c.cacheBits)
	ops, err := newOps(c, log)
	if err != nil {
		return err
	}
	defer ops.stop(log)

	buildCache := worker.HookFunc[*cache.Cache](func(context.Context) (*cache.Cache, error) {
		cc, st, err := cache.Build(c.cacheBits)
		if err != nil {
			return nil, err
		}
		log.Info("cache built", "entries", st.Entries, "bytes", st.Bytes, "took", st.Build.Round(time.Microsecond))
		ops.metrics.ObserveCache(st)
		return cc, nil
	})
	// The whole save path: concurrent saves go out together, and a write
	// rides out a Redis outage of up to saveOutage, so that a restart does
	// not fail the batches in flight.
	saver := &results.Saver{RDB: db, TTL: c.resultTTL, Rider: outage.New(saveOutage, log), Observe: ops.metrics.ObserveSave}
	return worker.Serve(ctx, worker.Config{
		Readiness:       ops.health.Report,
		StartupReason:   "building cache",
		RDB:             db,
		RedisURL:        c.redisURL,
		RedisWait:       c.redisWait,
		Queues:          c.queues,
		Concurrency:     c.concurrency,
		ShutdownTimeout: c.shutdownTimeout,
		PollInterval:    c.pollInterval,
		Logger:          log,
	}, buildCache, func(cc *cache.Cache) asynq.Handler {
		h := &tasks.BitsHandler{Cache: cc, Store: saver, Logger: log, Observe: ops.metrics.Observe}
		return ops.metrics.Handler(h)
	})
}

// startCPUProfile profiles the process's CPU into the file at path until the
// returned function is called.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpu-profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpu-profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
