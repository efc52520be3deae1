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

func main() { cli.Main("worker", run) }

var env = map[string]string{
	"redis":            "REDIS_URL",
	"redis-wait":       "BITQUEUE_REDIS_WAIT",
	"queue":            "BITQUEUE_QUEUE",
	"concurrency":      "BITQUEUE_CONCURRENCY",
	"cache-bits":       "BITQUEUE_CACHE_BITS",
	"result-ttl":       "BITQUEUE_RESULT_TTL",
	"prefix":           "BITQUEUE_PREFIX",
	"shutdown-timeout": "BITQUEUE_SHUTDOWN_TIMEOUT",
	"poll-interval":    "BITQUEUE_POLL_INTERVAL",
	"log-format":       "BITQUEUE_LOG_FORMAT",
	"log-level":        "BITQUEUE_LOG_LEVEL",
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
}

func parse(args []string, getenv func(string) string, stdout io.Writer) (config, error) {
	var c config
	var queues string
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.StringVar(&c.redisURL, "redis", redisconn.DefaultURL, "Redis URL: redis://[user:password@]host:port/db, rediss:// or redis-sentinel://")
	fs.DurationVar(&c.redisWait, "redis-wait", 30*time.Second, "how long start-up waits for Redis to answer before giving up")
	fs.StringVar(&queues, "queue", "bits", "queue to pull batches from (comma-separated for several)")
	fs.IntVar(&c.concurrency, "concurrency", 8, "batches processed at once, 1..1000")
	fs.IntVar(&c.cacheBits, "cache-bits", cache.DefaultBits, fmt.Sprintf("k: cache the bitstrings of every integer below 2^k, %d..%d", cache.MinBits, cache.MaxBits))
	fs.DurationVar(&c.resultTTL, "result-ttl", results.DefaultTTL, "how long results are kept in Redis")
	fs.StringVar(&c.prefix, "prefix", results.DefaultPrefix, "root of the result keys: <prefix>:result:<run-id>:<seq>")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 10*time.Second, "on SIGTERM, how long in-flight batches may finish before they are handed back")
	fs.DurationVar(&c.pollInterval, "poll-interval", 25*time.Millisecond, "how often an idle worker looks for new batches")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	if err := cli.Parse(fs, args, getenv, env); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			cli.PrintUsage(stdout, fs, "worker [flags]", env)
		}
		return c, err
	}
	for q := range strings.SplitSeq(queues, ",") {
		if q = strings.TrimSpace(q); q != "" {
			c.queues = append(c.queues, q)
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
	return c, nil
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c, err := parse(args, getenv, stdout)
	if err != nil {
		return err
	}
	log, err := logging.New(stderr, c.logFormat, c.logLevel)
	if err != nil {
		return &cli.UsageError{Err: err}
	}
	rdb, err := redisconn.Open(c.redisURL, c.concurrency+10)
	if err != nil {
		return &cli.UsageError{Err: err}
	}
	defer rdb.Close()
	log.Info("worker starting", "redis", redisconn.Redact(c.redisURL), "queues", c.queues, "cache_bits", c.cacheBits)

	buildCache := worker.HookFunc[*cache.Cache](func(context.Context) (*cache.Cache, error) {
		cc, st, err := cache.Build(c.cacheBits)
		if err != nil {
			return nil, err
		}
		log.Info("cache built", "entries", st.Entries, "bytes", st.Bytes, "took", st.Build.Round(time.Microsecond))
		return cc, nil
	})
	store := &results.Store{Client: rdb, Prefix: c.prefix, TTL: c.resultTTL}
	return worker.Serve(ctx, worker.Config{
		Redis:           rdb,
		RedisURL:        c.redisURL,
		RedisWait:       c.redisWait,
		Queues:          c.queues,
		Concurrency:     c.concurrency,
		ShutdownTimeout: c.shutdownTimeout,
		PollInterval:    c.pollInterval,
		Logger:          log,
	}, buildCache, func(cc *cache.Cache) asynq.Handler {
		return &tasks.BitsHandler{Cache: cc, Store: store, Logger: log}
	})
}

