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
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"bitqueue/internal/cache"
	"bitqueue/internal/cli"
	"bitqueue/internal/logging"
	"bitqueue/internal/outage"
	"bitqueue/internal/redisconn"
	"bitqueue/internal/results"
	"bitqueue/internal/shard"
	"bitqueue/internal/tasks"
	"bitqueue/internal/worker"
)

func main() { cli.Main("worker", run) }

// saveOutage is how long saving a batch's result waits for Redis to come
// back: well within asynq's 30 s task lease, which stops being extended
// while Redis is away.
const saveOutage = 20 * time.Second

var env = map[string]string{
	"redis":                 "REDIS_URL",
	"redis-wait":            "BITQUEUE_REDIS_WAIT",
	"queue":                 "BITQUEUE_QUEUE",
	"concurrency":           "BITQUEUE_CONCURRENCY",
	"cache-bits":            "BITQUEUE_CACHE_BITS",
	"result-ttl":            "BITQUEUE_RESULT_TTL",
	"prefix":                "BITQUEUE_PREFIX",
	"shutdown-timeout":      "BITQUEUE_SHUTDOWN_TIMEOUT",
	"poll-interval":         "BITQUEUE_POLL_INTERVAL",
	"log-format":            "BITQUEUE_LOG_FORMAT",
	"log-level":             "BITQUEUE_LOG_LEVEL",
	"http-addr":             "BITQUEUE_HTTP_ADDR",
	"shards":                "BITQUEUE_SHARDS",
	"redis-ca":              redisconn.EnvCA,
	"redis-tls-server-name": redisconn.EnvServerName,
}

type config struct {
	redisURL        string
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
	shards          int
	redisOpts       redisconn.Options // TLS settings and passwords; PoolSize is set at Open
}

func parse(args []string, getenv func(string) string, stdout io.Writer) (config, error) {
	var c config
	var queues string
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.StringVar(&c.redisURL, "redis", redisconn.DefaultURL, "Redis URL: redis://[user:password@]host:port/db, rediss://…, redis-sentinel://host:port[,…][/db]?master=NAME or redis-cluster://host:port[,…] (password: in the URL or $REDIS_PASSWORD)")
	c.redisOpts.AddFlags(fs)
	fs.IntVar(&c.shards, "shards", 1, fmt.Sprintf("pull from each queue's shards, <queue>-0 … <queue>-(N-1), as the producer's --shards spreads them, 1..%d", shard.MaxShards))
	fs.DurationVar(&c.redisWait, "redis-wait", 30*time.Second, "how long start-up waits for Redis to answer before giving up")
	fs.StringVar(&queues, "queue", "bits", "queue to pull batches from (comma-separated for several)")
	fs.IntVar(&c.concurrency, "concurrency", 8, "batches processed at once, 1..1000")
	fs.IntVar(&c.cacheBits, "cache-bits", cache.DefaultBits, fmt.Sprintf("k: cache the bitstrings of every integer below 2^k, %d..%d", cache.MinBits, cache.MaxBits))
	fs.DurationVar(&c.resultTTL, "result-ttl", results.DefaultTTL, "how long results are kept in Redis")
	fs.StringVar(&c.prefix, "prefix", results.DefaultPrefix, "root of the result keys: <prefix>:result:<run-id>:<seq>")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 10*time.Second, "on SIGTERM, how long in-flight batches may finish before they are handed back")
	fs.DurationVar(&c.pollInterval, "poll-interval", worker.DefaultPollInterval, "how often an idle worker looks for new batches (a busy one: every 25ms, or this if shorter); producers wake idle workers at once")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&c.httpAddr, "http-addr", ":8080", "serve /healthz, /readyz and /metrics on this host:port (off or empty: no HTTP server)")
	fs.StringVar(&c.cpuProfile, "cpu-profile", "", "write a CPU profile of the process, from start to exit, to this file (for profiling; off by default)")
	if err := cli.Parse(fs, args, getenv, env); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			cli.PrintUsage(stdout, fs, "worker [flags]", env)
		}
		return c, err
	}
	c.redisOpts.ReadSecrets(getenv)
	if err := shard.Validate(c.shards); err != nil {
		return c, &cli.UsageError{Err: err}
	}
	for q := range strings.SplitSeq(queues, ",") {
		if q = strings.TrimSpace(q); q != "" {
			c.queues = append(c.queues, shard.Queues(q, c.shards)...)
		}
	}
	switch {
	case len(c.queues) == 0:
		return c, cli.Usagef("--queue %q names no queue", queues)
	case c.concurrency < 1 || c.concurrency > 1000:
		return c, cli.Usagef("--concurrency %d out of range [1, 1000]", c.concurrency)
	case c.cacheBits < cache.MinBits || c.cacheBits > cache.MaxBits:
		return c, cli.Usagef("--cache-bits %d out of range [%d, %d]", c.cacheBits, cache.MinBits, cache.MaxBits)
	case c.resultTTL < time.Second:
		return c, cli.Usagef("--result-ttl %s must be at least 1s", c.resultTTL)
	case c.prefix == "" || strings.ContainsAny(c.prefix, " \t\r\n"):
		return c, cli.Usagef("--prefix %q must be non-empty without spaces", c.prefix)
	case c.shutdownTimeout <= 0:
		return c, cli.Usagef("--shutdown-timeout %s must be positive", c.shutdownTimeout)
	case c.redisWait <= 0:
		return c, cli.Usagef("--redis-wait %s must be positive", c.redisWait)
	case c.pollInterval < time.Millisecond || c.pollInterval > time.Minute:
		return c, cli.Usagef("--poll-interval %s out of range [1ms, 1m]", c.pollInterval)
	}
	if err := checkHTTPAddr(c.httpAddr); err != nil {
		return c, err
	}
	return c, nil
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "probe" {
		return probe(ctx, args[1:], getenv, stdout, stderr)
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
	if c.cpuProfile != "" {
		stop, err := startCPUProfile(c.cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	ro := c.redisOpts
	ro.PoolSize = c.concurrency + 10
	rdb, err := redisconn.OpenWith(c.redisURL, ro)
	if err != nil {
		return &cli.UsageError{Err: err}
	}
	defer rdb.Close()
	log.Info("worker starting", "redis", redisconn.Redact(c.redisURL), "queues", c.queues, "cache_bits", c.cacheBits)
	ops, err := newOps(c, rdb, log)
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
	// A save rides out a Redis outage of up to saveOutage, so that a
	// restart does not fail the batches in flight (see outage.Store).
	store := &outage.Store{
		Next:  &results.Store{Client: rdb, Prefix: c.prefix, TTL: c.resultTTL},
		Rider: outage.New(saveOutage, log),
	}
	return worker.Serve(ctx, worker.Config{
		Readiness:       ops.health.Report,
		StartupReason:   "building cache",
		Redis:           rdb,
		RedisURL:        c.redisURL,
		RedisWait:       c.redisWait,
		Queues:          c.queues,
		Concurrency:     c.concurrency,
		ShutdownTimeout: c.shutdownTimeout,
		PollInterval:    c.pollInterval,
		WakePrefix:      c.prefix,
		Logger:          log,
	}, buildCache, func(cc *cache.Cache) asynq.Handler {
		h := &tasks.BitsHandler{Cache: cc, Store: ops.metrics.Store(store), Logger: log, Observe: ops.metrics.Observe}
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
