package main

import (
	"io"
	"strconv"
	"time"

	"bitqueue/internal/cache"
	"bitqueue/internal/cli"
	"bitqueue/internal/worker"
)

// command is how the worker's flags read their variables: BITQUEUE_ and the
// flag's name unless a var tag says otherwise.
var command = cli.Command{
	Name:   "worker",
	Prefix: "BITQUEUE_",
	Vars: map[string]string{
		"poll_interval":   worker.DefaultPollInterval.String(),
		"loops":           strconv.Itoa(worker.DefaultLoops),
		"max_loops":       strconv.Itoa(worker.MaxLoops),
		"cache_bits":      strconv.Itoa(cache.DefaultBits),
		"min_bits":        strconv.Itoa(cache.MinBits),
		"max_bits":        strconv.Itoa(cache.MaxBits),
		"http_auto":       httpAuto,
		"redis_wait":      "30s",
		"redis_wait_help": "how long start-up waits for Redis to answer before giving up",
	},
}

// flags are the worker's command line: the flags of the worker itself, of
// `worker probe`, and the logging flags both take.
type flags struct {
	Log   cli.Logging `embed:"" group:"Logging"`
	Serve serveFlags  `cmd:"" default:"withargs" hidden:""`
	Probe probeFlags  `cmd:"" help:"ask a worker's HTTP server whether it is ready; exit 0 if it is (see worker probe -h)"`
}

// serveFlags are the flags of the worker itself.
type serveFlags struct {
	Queue           string        `name:"queue" default:"${queue}" placeholder:"queue" group:"Queues" help:"queue to pull batches from (comma-separated for several)"`
	Shards          int           `name:"shards" default:"1" group:"Queues" help:"pull from each queue's shards, <queue>-0 … <queue>-(N-1), as the producer's --shards spreads them, 1..${max_shards}"`
	Concurrency     int           `name:"concurrency" default:"8" group:"Queues" help:"batches each dequeue loop processes at once, 1..1000: a worker processes up to --loops × this"`
	Loops           int           `name:"loops" default:"${loops}" group:"Queues" help:"dequeue loops at most, 1..${max_loops}: each takes one batch per round trip to Redis, so a worker far from Redis needs several (docs/scaling.md); the loops beyond the first run only while the queues hold a backlog"`
	PollInterval    time.Duration `name:"poll-interval" default:"${poll_interval}" group:"Queues" help:"how often an idle worker looks for new batches, 1ms..1m (a busy one: every 25ms, or this if shorter); producers wake idle workers at once"`
	ShutdownTimeout time.Duration `name:"shutdown-timeout" default:"10s" group:"Queues" help:"on SIGTERM, how long in-flight batches may finish before they are handed back"`

	CacheBits int           `name:"cache-bits" default:"${cache_bits}" group:"Results" help:"k: cache the bitstrings of every integer below 2^k, ${min_bits}..${max_bits}"`
	ResultTTL time.Duration `name:"result-ttl" default:"${ttl}" group:"Results" help:"how long results, and the done bitmaps counting them, are kept in Redis"`
	Prefix    cli.Prefix    `embed:"" group:"Results"`

	Redis cli.Redis     `embed:"" group:"Redis"`
	Wait  cli.RedisWait `embed:"" group:"Redis"`

	HTTPAddr   string `name:"http-addr" default:"${http_auto}" placeholder:"host:port" group:"HTTP" help:"serve /healthz, /readyz and /metrics on this host:port; auto: the first free of :8080 … :8099, else any free port; off: no HTTP server"`
	CPUProfile string `name:"cpu-profile" placeholder:"file" group:"Profiling" help:"write a CPU profile of the process, from start to exit, to this file (for profiling; off by default)"`
}

// probeFlags are the flags of `worker probe`, whose variables are
// BITQUEUE_PROBE_…
type probeFlags struct {
	URL     string        `name:"url" var:"BITQUEUE_PROBE_URL" default:"http://127.0.0.1:8080/readyz" placeholder:"URL" group:"Probe" help:"URL to GET; 200 means healthy"`
	Timeout time.Duration `name:"timeout" var:"BITQUEUE_PROBE_TIMEOUT" default:"2s" group:"Probe" help:"give up after this long"`
}

func (flags) Usage() cli.Usage {
	return cli.Usage{
		Synopsis: []string{"worker [flags]", "worker probe [--url URL] [--timeout D]"},
		Examples: []string{
			"# two workers on one host: each serves HTTP on the first free port from :8080",
			"worker --redis redis://127.0.0.1:6379/0 &",
			"worker --redis redis://127.0.0.1:6379/0 &",
			"# JSON logs, four shards of queue bits, readiness on a fixed port",
			"BITQUEUE_LOG_FORMAT=json worker --shards 4 --http-addr :9100",
			"# a container healthcheck",
			"worker probe --url http://127.0.0.1:8080/readyz",
		},
	}
}

func (probeFlags) Usage() cli.Usage {
	return cli.Usage{
		Synopsis: []string{"worker probe [--url URL] [--timeout D]"},
		Examples: []string{
			"worker probe --url http://127.0.0.1:8081/healthz",
			"# flags may also come before probe",
			"worker --timeout 5s probe",
		},
	}
}

// probeConfig is the configuration of `worker probe`.
type probeConfig struct {
	url     string
	urlFrom string // --url as the user gave it, for messages
	timeout time.Duration
}

// parse parses the worker's command line, then the environment, and checks
// the values; each message names a value as the user gave it, flag or
// variable. For `worker probe`, config holds the probe's settings alone.
func parse(args []string, getenv func(string) string, stdout io.Writer) (config, error) {
	var f flags
	p, err := cli.Parse(command, &f, args, getenv, stdout)
	if err != nil {
		return config{}, err
	}
	if err := f.Log.Check(p); err != nil {
		return config{}, err
	}
	if p.Command == "probe" {
		if f.Probe.Timeout <= 0 {
			return config{}, cli.Usagef("%s must be positive", p.Source("timeout"))
		}
		return config{probe: &probeConfig{url: f.Probe.URL, urlFrom: p.Source("url"), timeout: f.Probe.Timeout}}, nil
	}
	s := f.Serve
	c := config{
		redisURL:        s.Redis.URL,
		redisFrom:       p.Origin("redis"),
		redisWait:       s.Wait.Wait,
		concurrency:     s.Concurrency,
		loops:           s.Loops,
		cacheBits:       s.CacheBits,
		resultTTL:       s.ResultTTL,
		prefix:          s.Prefix.Prefix,
		shutdownTimeout: s.ShutdownTimeout,
		pollInterval:    s.PollInterval,
		logFormat:       f.Log.Format,
		logLevel:        f.Log.Level,
		cpuProfile:      s.CPUProfile,
		httpAddr:        s.HTTPAddr,
		httpFrom:        p.Source("http-addr"),
		shards:          s.Shards,
		redisOpts:       s.Redis.Options(getenv),
	}
	if c.queues, err = cli.ShardedQueues(s.Queue, p.Source("queue"), c.shards); err != nil {
		return c, err
	}
	switch {
	case c.resultTTL < time.Second:
		return c, cli.Usagef("%s must be at least 1s", p.Source("result-ttl"))
	case c.shutdownTimeout <= 0:
		return c, cli.Usagef("%s must be positive", p.Source("shutdown-timeout"))
	}
	if err := s.Prefix.Check(p); err != nil {
		return c, err
	}
	if err := s.Wait.Check(p); err != nil {
		return c, err
	}
	return c, checkHTTPAddr(c.httpAddr, c.httpFrom)
}
