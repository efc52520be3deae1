// Command worker is one process of a bitqueue worker fleet: it builds its
// bitstring cache once, then converts batches from Redis into packed bit
// arrays until SIGTERM.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"time"

	"github.com/hibiken/asynq"

	"bitqueue/internal/cache"
	"bitqueue/internal/cli"
	"bitqueue/internal/outage"
	"bitqueue/internal/redisconn"
	"bitqueue/internal/results"
	"bitqueue/internal/tasks"
	"bitqueue/internal/tracing"
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
	loops           int
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
	probe           *probeConfig      // the command is `worker probe`: the rest is unset
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c, err := parse(args, getenv, stdout)
	if err != nil {
		return err
	}
	if c.probe != nil {
		return probe(ctx, *c.probe, stdout)
	}
	// The first loop's client also carries the result writes of every
	// loop (one each at a time on a Redis Cluster); each other loop's has
	// a pool of its own.
	setup := redisconn.Setup{URL: c.redisURL, URLFrom: c.redisFrom, Options: c.redisOpts, PoolSize: c.loops*c.concurrency + 10, Wait: c.redisWait, LogFormat: c.logFormat, LogLevel: c.logLevel, Prefix: c.prefix}
	loopSetup := setup
	loopSetup.PoolSize = c.concurrency + 10
	log, err := setup.Logger(stderr)
	if err != nil {
		return err
	}
	tr, err := tracing.Start(ctx, "worker", getenv, log)
	if err != nil {
		return err
	}
	defer tr.Stop(log) // sends the last spans
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
	log.Info("worker starting", "redis", redisconn.Redact(c.redisURL), "queues", c.queues, "cache_bits", c.cacheBits, "loops", c.loops)
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
		Loops:           c.loops,
		Open:            loopSetup.Open,
		ShutdownTimeout: c.shutdownTimeout,
		PollInterval:    c.pollInterval,
		Logger:          log,
	}, buildCache, func(cc *cache.Cache) asynq.Handler {
		h := &tasks.BitsHandler{Cache: cc, Store: saver, Logger: log, Observe: ops.metrics.Observe}
		if tr.On() { // off, the handler starts no span at all
			h.Tracer = tr.Tracer()
		}
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
