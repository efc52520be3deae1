package main

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"bitqueue/bench/internal/baseline"
	"bitqueue/bench/internal/config"
	"bitqueue/internal/base"
	"bitqueue/internal/cli"
	"bitqueue/internal/worker"
)

// command is how the benchmark's flags read their variables:
// BITQUEUE_BENCH_ and the flag's name, so that the variables of the
// commands it starts are not the benchmark's; those of `bench worker` are
// BITQUEUE_BENCH_WORKER_….
var command = cli.Command{
	Name:   "bench",
	Prefix: "BITQUEUE_BENCH_",
	Vars:   map[string]string{"loops": strconv.Itoa(worker.DefaultLoops), "max_loops": strconv.Itoa(worker.MaxLoops)},
}

// flags are the benchmark's command line: the benchmark itself, or a
// baseline worker process (`bench worker`), which the benchmark starts.
type flags struct {
	Bench  benchFlags  `cmd:"" default:"withargs" hidden:""`
	Worker workerFlags `cmd:"" help:"a baseline worker process, --handler empty, shipped or bare; the benchmark starts these itself (see bench worker -h)"`
}

// benchFlags are the flags of the benchmark itself.
type benchFlags struct {
	Redis       string `name:"redis" placeholder:"URL" group:"Redis" help:"use this Redis (redis://host:port/db) instead of starting redis-server on a free loopback port; only the benchmark's own queues and keys are touched"`
	RedisServer string `name:"redis-server" default:"redis-server" placeholder:"file" group:"Redis" help:"redis-server binary to start when --redis is not given, and for the idle fleet"`
	Bin         string `name:"bin" placeholder:"dir" group:"Fleet" help:"directory holding the worker and producer binaries (default: beside this one)"`

	Workers             int           `name:"workers" default:"2" group:"Fleet" help:"W: worker processes, 1..64"`
	WorkerConcurrency   int           `name:"worker-concurrency" default:"0" group:"Fleet" help:"--concurrency of every worker, 0..1000 (0: the worker's default)"`
	PollInterval        time.Duration `name:"poll-interval" default:"0s" group:"Fleet" help:"--poll-interval of every worker (0: the worker's default)"`
	WorkerFlag          []string      `name:"worker-flag" sep:"none" placeholder:"flag" group:"Fleet" help:"a flag for every production worker, such as \"--cache-bits=16\" (repeatable)"`
	ProducerConcurrency int           `name:"producer-concurrency" default:"8" group:"Fleet" help:"enqueues in flight at once, as the producer's --concurrency, 1..256"`

	Count        uint64        `name:"count" default:"2000000" group:"Trials" help:"N: random integers per trial, 1..1000000000"`
	BatchSize    int           `name:"batch-size" default:"1000" group:"Trials" help:"B: integers per batch, 1..${max_batch}"`
	Max          uint64        `name:"max" default:"1048576" group:"Trials" help:"integers are drawn uniformly from [0, max), max in 1..2^63"`
	Repeat       int           `name:"repeat" default:"5" group:"Trials" help:"trials of the pipeline and of the ceiling (interleaved), 1..100; the median is reported"`
	TrialTimeout time.Duration `name:"timeout" default:"5m" group:"Trials" help:"give up on a trial after this long"`

	IdleSamples    int    `name:"idle-samples" default:"200" group:"Baselines" help:"batches sent one at a time, 0–50 ms apart, to the main fleet (which stays at its busy pace), for their latency, 0..100000 (0: skip)"`
	ShippedCount   uint64 `name:"shipped-count" default:"20000" group:"Baselines" help:"integers through the cache-in-every-task baseline (0: skip)"`
	FileCount      uint64 `name:"file-count" default:"1000000" group:"Baselines" help:"integers in the file the producer binary enqueues (0: skip)"`
	Peers          bool   `name:"peers" default:"true" group:"Baselines" help:"run the peers (Celery, a Python process pool; Debian's python3-celery, python3-redis, python3-numpy) on the same integers, W and Redis, and compare; false skips them, saying so in the report"`
	PeerBatches    string `name:"peer-batches" default:"1000,10000" placeholder:"list" group:"Baselines" help:"batch sizes the peers run at (bitqueue is measured at each too), each 1..${max_batch}"`
	ProducerMemory bool   `name:"producer-memory" default:"true" group:"Baselines" help:"measure the producer binary's peak RSS enqueueing 1,000,000 integers in batches of 1,000 and 20,000,000 in batches of 100,000"`

	Cluster bool `name:"cluster" group:"Cluster" help:"also check the capacity model (docs/scaling.md): the main configuration twice on a three-master Redis Cluster (redis-server and redis-cli started by the benchmark) with worker binaries and --shards 3, then on one master (a one-master cluster and this Redis) at full speed and paced at one and two times the cluster's rate per master; each master's Redis CPU against F × span + c × its batches, fitted on the one-master runs"`

	Latency            string `name:"latency" default:"0.5ms,2ms" placeholder:"list" group:"Latency" help:"round-trip times the latency scenario adds between the workers and Redis (a proxy in the benchmark, half each way; the producer and watcher connect directly), besides the proxy with nothing added; '' or none skips the scenario"`
	LatencyLoops       string `name:"latency-loops" default:"${loops},1" placeholder:"list" group:"Latency" help:"worker --loops values of the latency scenario, each 1..${max_loops}, run at each --latency-concurrency; the first (the worker's default) is the reference"`
	LatencyConcurrency string `name:"latency-concurrency" default:"8,32" placeholder:"list" group:"Latency" help:"worker --concurrency values of the latency scenario, each 1..1000, run at each --latency-loops; the first (the worker's default) is the reference unless --worker-concurrency is set"`
	LatencyCount       uint64 `name:"latency-count" default:"2000000" group:"Latency" help:"N of the latency scenario's trials (at most --count), 1..1000000000: long enough that the ramp-up of the loops and the last batch's round trips weigh little"`
	LatencyRepeat      int    `name:"latency-repeat" default:"5" group:"Latency" help:"trials per cell of the latency scenario, 1..100; the median is reported"`

	IdleWorkers int           `name:"idle-workers" default:"20" group:"Idle fleet" help:"idle fleet: worker processes (default flags) whose cost to a redis-server of their own is measured, then their pickup latency, 0..200 (0: skip)"`
	IdleWindow  time.Duration `name:"idle-window" default:"1m" group:"Idle fleet" help:"idle fleet: how long its cost is measured, once settled (at least 1s)"`
	IdleAdded   int           `name:"idle-added" default:"30" group:"Idle fleet" help:"idle fleet: workers that join it for a second window, 0..200; the cost per idle worker is the CPU they add, over them (0: the first window against Redis's own CPU)"`
	IdleProbes  int           `name:"idle-probes" default:"20" group:"Idle fleet" help:"idle fleet: batches sent one at a time through the producer's code path after the window, for the pickup latency, 0..1000"`
	LoneProbes  int           `name:"lone-probes" default:"5" group:"Idle fleet" help:"idle fleet: batches sent without a wake-up to one idle worker, for its worst case, 0..100 (0: skip)"`

	Sweep        bool   `name:"sweep" group:"Sweep" help:"also sweep batch sizes and fleet sizes"`
	SweepPeers   bool   `name:"sweep-peers" default:"true" group:"Sweep" help:"with --sweep and --peers, also run Celery at every W and B of the sweep"`
	SweepBatches string `name:"sweep-batches" default:"100,1000,10000,100000" placeholder:"list" group:"Sweep" help:"batch sizes of the sweep, each 1..${max_batch}"`
	SweepWorkers string `name:"sweep-workers" default:"1,2,4" placeholder:"list" group:"Sweep" help:"fleet sizes of the sweep, each 1..64"`
	SweepRepeat  int    `name:"sweep-repeat" default:"1" group:"Sweep" help:"trials per sweep cell, of the pipeline and of the ceiling, 1..100"`

	Profile    bool   `name:"profile" group:"Profiling" help:"profile the workers' CPU during extra trials at B and at 10,000, split it into bitqueue's own code per batch, report the top, and compare the startup hook's cache with math/bits (needs the go tool)"`
	ProfileDir string `name:"profile-dir" placeholder:"dir" group:"Profiling" help:"keep the worker CPU profiles in this directory"`

	Only     string `name:"only" placeholder:"part" group:"Output" help:"run one part alone and print it, no --markdown: \"idle\" (the idle fleet) or \"latency\" (the latency scenario)"`
	Markdown string `name:"markdown" placeholder:"file" group:"Output" help:"rewrite the generated section of this file (BENCHMARKS.md) with the figures"`
	Readme   string `name:"readme" placeholder:"file" group:"Output" help:"with --profile, rewrite the startup hook's figures in this file (README.md), between its bench-e2e:hook markers"`
	Chart    string `name:"chart" placeholder:"file" group:"Output" help:"draw the sweep into this file (.svg or .png); needs --sweep"`
}

// workerFlags are the flags of `bench worker`. Its --redis is a plain URL,
// not the shared cli.Redis: the bare baseline hands it to asynq as it is,
// without TLS settings or passwords from variables.
type workerFlags struct {
	Handler      string        `name:"handler" var:"BITQUEUE_BENCH_WORKER_HANDLER" placeholder:"handler" help:"empty, shipped or bare (required)"`
	Redis        string        `name:"redis" var:"BITQUEUE_BENCH_WORKER_REDIS" default:"${redis_url}" placeholder:"URL" help:"Redis URL"`
	Queue        string        `name:"queue" var:"BITQUEUE_BENCH_WORKER_QUEUE" placeholder:"queue" help:"queue to serve (required)"`
	ResultTTL    time.Duration `name:"result-ttl" var:"BITQUEUE_BENCH_WORKER_RESULT_TTL" default:"${ttl}" help:"how long results are kept"`
	Concurrency  int           `name:"concurrency" var:"BITQUEUE_BENCH_WORKER_CONCURRENCY" default:"0" help:"tasks processed at once (0: the worker's default)"`
	PollInterval time.Duration `name:"poll-interval" var:"BITQUEUE_BENCH_WORKER_POLL_INTERVAL" default:"0s" help:"idle poll interval (0: the worker's default)"`
	Prefix       cli.Prefix    `embed:""`
	Log          cli.Logging   `embed:"" group:"Logging"`
}

func (flags) Usage() cli.Usage {
	return cli.Usage{
		Synopsis: []string{"bench [flags]", "bench worker --handler empty|shipped|bare --queue Q [flags]"},
		Examples: []string{
			"# the main figures and the peers, printed, nothing rewritten",
			"bench --repeat 1 --latency none",
			"# everything, rewriting BENCHMARKS.md's figures and the sweep's chart",
			"bench --sweep --profile --cluster --markdown BENCHMARKS.md --readme README.md --chart docs/bench-sweep.svg",
		},
	}
}

func (workerFlags) Usage() cli.Usage {
	return cli.Usage{Synopsis: []string{"bench worker --handler empty|shipped|bare --queue Q [flags]"}}
}

// parse parses the benchmark's command line, then the environment, and
// checks the values; each message names a value as the user gave it, flag
// or variable. For `bench worker`, worker holds the worker's flags and the
// settings are unset.
func parse(args []string, getenv func(string) string, stdout io.Writer) (c settings, err error) {
	var f flags
	p, err := cli.Parse(command, &f, args, getenv, stdout)
	if err != nil {
		return c, err
	}
	if p.Command == "worker" {
		w := f.Worker
		switch {
		case w.Handler != baseline.Empty && w.Handler != baseline.Shipped && w.Handler != baseline.Bare:
			return c, cli.Usagef("%s: want empty, shipped or bare", p.Source("handler"))
		case w.Queue == "":
			return c, cli.Usagef("%s: --queue is required", p.Source("queue"))
		}
		if err := w.Log.Check(p); err != nil {
			return c, err
		}
		return settings{worker: &w}, nil
	}
	b := f.Bench
	c.markdown, c.chart, c.readme = b.Markdown, b.Chart, b.Readme
	o := &c.opts
	*o = config.Options{
		RedisURL: b.Redis, RedisServer: b.RedisServer, Bin: b.Bin,
		Workers: b.Workers, Count: b.Count, BatchSize: b.BatchSize, Max: b.Max, Repeat: b.Repeat,
		WorkerConcurrency: b.WorkerConcurrency, PollInterval: b.PollInterval, ProducerConcurrency: b.ProducerConcurrency,
		IdleSamples: b.IdleSamples, ShippedCount: b.ShippedCount, FileCount: b.FileCount,
		Peers: b.Peers, SweepPeers: b.SweepPeers, ProducerMemory: b.ProducerMemory, Cluster: b.Cluster,
		LatencyCount: b.LatencyCount, LatencyRepeat: b.LatencyRepeat,
		IdleWorkers: b.IdleWorkers, IdleWindow: b.IdleWindow, IdleAdded: b.IdleAdded, IdleProbes: b.IdleProbes, LoneProbes: b.LoneProbes,
		Only: b.Only, Sweep: b.Sweep, SweepRepeat: b.SweepRepeat,
		Profile: b.Profile, ProfileDir: b.ProfileDir, TrialTimeout: b.TrialTimeout,
		ProducerMemoryRuns: []config.CountBatch{{Count: 1_000_000, Batch: 1000}, {Count: 20_000_000, Batch: 100_000}},
	}
	for _, v := range b.WorkerFlag {
		o.WorkerFlags = append(o.WorkerFlags, strings.Fields(v)...)
	}
	for _, l := range []struct {
		flag, list string
		into       *[]int
		lo, hi     int
	}{
		{"sweep-batches", b.SweepBatches, &o.SweepBatches, 1, base.MaxBatch},
		{"sweep-workers", b.SweepWorkers, &o.SweepWorkers, 1, 64},
		{"peer-batches", b.PeerBatches, &o.PeerBatches, 1, base.MaxBatch},
		{"latency-loops", b.LatencyLoops, &o.LatencyLoops, 1, worker.MaxLoops},
		{"latency-concurrency", b.LatencyConcurrency, &o.LatencyConcurrency, 1, 1000},
	} {
		if *l.into, err = intList(p.Source(l.flag), l.list, l.lo, l.hi); err != nil {
			return c, err
		}
	}
	if o.Latency, err = durationList(p.Source("latency"), b.Latency); err != nil {
		return c, err
	}
	src := p.Source
	switch {
	case o.PollInterval < 0:
		return c, cli.Usagef("%s must not be negative", src("poll-interval"))
	case o.IdleWindow < time.Second:
		return c, cli.Usagef("%s: at least 1s", src("idle-window"))
	case o.Only != "" && o.Only != config.OnlyIdle && o.Only != config.OnlyLatency:
		return c, cli.Usagef("%s: want %q or %q", src("only"), config.OnlyIdle, config.OnlyLatency)
	case o.Only == config.OnlyLatency && len(o.Latency) == 0:
		return c, cli.Usagef("%s needs --latency", src("only"))
	case o.Only == config.OnlyIdle && o.IdleWorkers == 0:
		return c, cli.Usagef("%s needs --idle-workers above 0", src("only"))
	case c.readme != "" && !o.Profile:
		return c, cli.Usagef("%s quotes the figures --profile measures: add --profile", src("readme"))
	case o.Only != "" && (c.markdown != "" || c.chart != "" || o.Sweep || o.Cluster):
		return c, cli.Usagef("%s runs and prints its part alone; --markdown, --chart, --sweep and --cluster take the whole benchmark", src("only"))
	case o.TrialTimeout <= 0:
		return c, cli.Usagef("%s must be positive", src("timeout"))
	case c.chart != "" && !o.Sweep:
		return c, cli.Usagef("%s draws the sweep: add --sweep", src("chart"))
	case c.chart != "" && !strings.HasSuffix(c.chart, ".svg") && !strings.HasSuffix(c.chart, ".png"):
		return c, cli.Usagef("%s: want a .svg or .png file", src("chart"))
	}
	exe, err := os.Executable()
	if err != nil {
		return c, err
	}
	o.Self = []string{exe}
	if o.Bin == "" {
		o.Bin = filepath.Dir(exe)
	}
	for _, name := range []string{"worker", "producer"} {
		if _, err := os.Stat(filepath.Join(o.Bin, name)); err != nil {
			return c, cli.Usagef("--bin %s holds no %s binary (run make build): %v", o.Bin, name, err)
		}
	}
	return c, nil
}

// intList parses a comma-separated list of decimal integers in [lo, hi],
// read as integer flags are (cli.Atoi: 010 is ten, no other base); from
// names the list as the user gave it.
func intList(from, s string, lo, hi int) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := cli.Atoi(strings.TrimSpace(f))
		if err != nil || n < lo || n > hi {
			return nil, cli.Usagef("%s: want comma-separated integers in [%d, %d]", from, lo, hi)
		}
		out = append(out, n)
	}
	return out, nil
}

// durationList parses the added round-trip times of --latency: durations in
// (0, 1s], comma-separated; "" or "none" is none. from names the list as the
// user gave it.
func durationList(from, s string) ([]time.Duration, error) {
	if strings.TrimSpace(s) == "" || strings.TrimSpace(s) == "none" {
		return nil, nil
	}
	var out []time.Duration
	for f := range strings.SplitSeq(s, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(f))
		if err != nil || d <= 0 || d > time.Second {
			return nil, cli.Usagef("%s: want comma-separated durations in (0, 1s], such as 0.5ms,2ms, or none", from)
		}
		out = append(out, d)
	}
	return out, nil
}
