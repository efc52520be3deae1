// Command bench measures bitqueue end to end on a real Redis: a fleet of real
// worker processes, the producer's enqueue path, and the baselines the figures
// are read against — asynq's ceiling (the same fleet with an empty handler),
// a bare asynq.Server's, the peers (Celery and a Python process pool, run on
// the same integers against the same Redis) and the anti-pattern of shipping
// the cache in every task — and the producer binary's peak memory. It can
// measure an idle fleet's cost to Redis and its pickup latency, sweep batch
// sizes and fleet sizes (with Celery at each cell), check the
// capacity model on a Redis Cluster, draw the sweep, and rewrite the figures
// section of BENCHMARKS.md.
//
// "bench worker --handler empty|shipped|bare" is a baseline worker process;
// the benchmark starts those itself.
package main

import (
	"bitqueue/internal/base"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"bitqueue/bench/internal/config"
	"bitqueue/bench/internal/report"
	"bitqueue/bench/internal/suite"
	"bitqueue/bench/peers"
	"bitqueue/internal/cli"
)

func main() { cli.Main("bench", run) }

// settings are the command's flags: the benchmark's options and where its
// figures go.
type settings struct {
	opts     config.Options
	markdown string
	chart    string
}

func parse(args []string, getenv func(string) string, stdout io.Writer) (settings, error) {
	var c settings
	o := &c.opts
	var sweepBatches, sweepWorkers, peerBatches, latency, latencyConc string
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&o.RedisURL, "redis", "", "use this Redis (redis://host:port/db) instead of starting redis-server on a free loopback port; only the benchmark's own queues and keys are touched")
	fs.StringVar(&o.RedisServer, "redis-server", "redis-server", "redis-server binary to start when --redis is not given, and for the idle fleet")
	fs.StringVar(&o.Bin, "bin", "", "directory holding the worker and producer binaries (default: beside this one)")
	fs.IntVar(&o.Workers, "workers", 2, "W: worker processes, 1..64")
	fs.Uint64Var(&o.Count, "count", 2_000_000, "N: random integers per trial")
	fs.IntVar(&o.BatchSize, "batch-size", 1000, fmt.Sprintf("B: integers per batch, 1..%d", base.MaxBatch))
	fs.Uint64Var(&o.Max, "max", 1<<20, "integers are drawn uniformly from [0, max)")
	fs.IntVar(&o.Repeat, "repeat", 5, "trials of the pipeline and of the ceiling (interleaved); the median is reported")
	fs.IntVar(&o.WorkerConcurrency, "worker-concurrency", 0, "--concurrency of every worker (0: the worker's default)")
	fs.DurationVar(&o.PollInterval, "poll-interval", 0, "--poll-interval of every worker (0: the worker's default)")
	fs.Func("worker-flag", "a flag for every production worker, such as \"--cache-bits=16\" (repeatable)", func(v string) error {
		o.WorkerFlags = append(o.WorkerFlags, strings.Fields(v)...)
		return nil
	})
	fs.IntVar(&o.ProducerConcurrency, "producer-concurrency", 8, "enqueues in flight at once, as the producer's --concurrency")
	fs.IntVar(&o.IdleSamples, "idle-samples", 200, "batches sent one at a time, 0–50 ms apart, to the main fleet (which stays at its busy pace), for their latency (0: skip)")
	fs.Uint64Var(&o.ShippedCount, "shipped-count", 20_000, "integers through the cache-in-every-task baseline (0: skip)")
	fs.Uint64Var(&o.FileCount, "file-count", 1_000_000, "integers in the file the producer binary enqueues (0: skip)")
	fs.BoolVar(&o.Peers, "peers", true, "run the peers (Celery, a Python process pool; Debian's python3-celery, python3-redis, python3-numpy) on the same integers, W and Redis, and compare; false skips them, saying so in the report")
	fs.StringVar(&peerBatches, "peer-batches", "1000,10000", "batch sizes the peers run at (bitqueue is measured at each too)")
	fs.BoolVar(&o.ProducerMemory, "producer-memory", true, "measure the producer binary's peak RSS enqueueing 1,000,000 integers in batches of 1,000 and 20,000,000 in batches of 100,000")
	fs.BoolVar(&o.Cluster, "cluster", false, "also check the capacity model (docs/scaling.md): the main configuration twice on a three-master Redis Cluster (redis-server and redis-cli started by the benchmark) with worker binaries and --shards 3, then on one master (a one-master cluster and this Redis) at full speed and paced at one and two times the cluster's rate per master; each master's Redis CPU against F × span + c × its batches, fitted on the one-master runs")
	fs.StringVar(&latency, "latency", "0.5ms,2ms", "round-trip times the latency scenario adds between the workers and Redis (a proxy in the benchmark, half each way; the producer and watcher connect directly), besides the proxy with nothing added; '' or none skips the scenario")
	fs.StringVar(&latencyConc, "latency-concurrency", "8,32,128", "worker --concurrency values of the latency scenario; the first (the worker's default) is the reference unless --worker-concurrency is set")
	fs.Uint64Var(&o.LatencyCount, "latency-count", 1_000_000, "N of the latency scenario's trials (at most --count)")
	fs.IntVar(&o.LatencyRepeat, "latency-repeat", 5, "trials per cell of the latency scenario; the median is reported")
	fs.IntVar(&o.IdleWorkers, "idle-workers", 20, "idle fleet: worker processes (default flags) whose cost to a redis-server of their own is measured, then their pickup latency (0: skip)")
	fs.DurationVar(&o.IdleWindow, "idle-window", time.Minute, "idle fleet: how long its cost is measured, once settled")
	fs.IntVar(&o.IdleAdded, "idle-added", 30, "idle fleet: workers that join it for a second window; the cost per idle worker is the CPU they add, over them (0: the first window against Redis's own CPU)")
	fs.IntVar(&o.IdleProbes, "idle-probes", 20, "idle fleet: batches sent one at a time through the producer's code path after the window, for the pickup latency")
	fs.IntVar(&o.LoneProbes, "lone-probes", 5, "idle fleet: batches sent without a wake-up to one idle worker, for its worst case (0: skip)")
	fs.StringVar(&o.Only, "only", "", "run one part alone and print it, no --markdown: \"idle\" (the idle fleet) or \"latency\" (the latency scenario)")
	fs.BoolVar(&o.Sweep, "sweep", false, "also sweep batch sizes and fleet sizes")
	fs.BoolVar(&o.SweepPeers, "sweep-peers", true, "with --sweep and --peers, also run Celery at every W and B of the sweep")
	fs.StringVar(&sweepBatches, "sweep-batches", "100,1000,10000,100000", "batch sizes of the sweep")
	fs.StringVar(&sweepWorkers, "sweep-workers", "1,2,4", "fleet sizes of the sweep")
	fs.IntVar(&o.SweepRepeat, "sweep-repeat", 1, "trials per sweep cell, of the pipeline and of the ceiling")
	fs.BoolVar(&o.Profile, "profile", false, "profile a worker's CPU during an extra trial (needs the go tool) and report the top")
	fs.StringVar(&o.ProfileDir, "profile-dir", "", "keep the worker CPU profiles in this directory")
	fs.DurationVar(&o.TrialTimeout, "timeout", 5*time.Minute, "give up on a trial after this long")
	fs.StringVar(&c.markdown, "markdown", "", "rewrite the generated section of this file (BENCHMARKS.md) with the figures")
	fs.StringVar(&c.chart, "chart", "", "draw the sweep into this file (.svg or .png); needs --sweep")
	env := map[string]string{}
	if err := cli.Parse(fs, args, getenv, env); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			cli.PrintUsage(stdout, fs, "bench [flags]  |  bench worker --handler empty|shipped|bare [worker flags]", env)
		}
		return c, err
	}
	var err error
	if o.SweepBatches, err = intList("--sweep-batches", sweepBatches, 1, base.MaxBatch); err != nil {
		return c, err
	}
	if o.SweepWorkers, err = intList("--sweep-workers", sweepWorkers, 1, 64); err != nil {
		return c, err
	}
	if o.PeerBatches, err = intList("--peer-batches", peerBatches, 1, base.MaxBatch); err != nil {
		return c, err
	}
	if o.Latency, err = durationList("--latency", latency); err != nil {
		return c, err
	}
	if o.LatencyConcurrency, err = intList("--latency-concurrency", latencyConc, 1, 1000); err != nil {
		return c, err
	}
	o.ProducerMemoryRuns = []config.CountBatch{{Count: 1_000_000, Batch: 1000}, {Count: 20_000_000, Batch: 100_000}}
	switch {
	case o.Workers < 1 || o.Workers > 64:
		return c, cli.Usagef("--workers %d out of range [1, 64]", o.Workers)
	case o.Count < 1 || o.Count > 1_000_000_000:
		return c, cli.Usagef("--count %d out of range [1, 10^9]", o.Count)
	case o.BatchSize < 1 || o.BatchSize > base.MaxBatch:
		return c, cli.Usagef("--batch-size %d out of range [1, %d]", o.BatchSize, base.MaxBatch)
	case o.Max < 1 || o.Max > 1<<63:
		return c, cli.Usagef("--max %d out of range [1, 2^63]", o.Max)
	case o.Repeat < 1 || o.Repeat > 100:
		return c, cli.Usagef("--repeat %d out of range [1, 100]", o.Repeat)
	case o.SweepRepeat < 1 || o.SweepRepeat > 100:
		return c, cli.Usagef("--sweep-repeat %d out of range [1, 100]", o.SweepRepeat)
	case o.WorkerConcurrency < 0 || o.WorkerConcurrency > 1000:
		return c, cli.Usagef("--worker-concurrency %d out of range [0, 1000]", o.WorkerConcurrency)
	case o.PollInterval < 0:
		return c, cli.Usagef("--poll-interval %s must not be negative", o.PollInterval)
	case o.ProducerConcurrency < 1 || o.ProducerConcurrency > 256:
		return c, cli.Usagef("--producer-concurrency %d out of range [1, 256]", o.ProducerConcurrency)
	case o.IdleSamples < 0 || o.IdleSamples > 100_000:
		return c, cli.Usagef("--idle-samples %d out of range [0, 100000]", o.IdleSamples)
	case o.LatencyCount < 1 || o.LatencyCount > 1_000_000_000:
		return c, cli.Usagef("--latency-count %d out of range [1, 10^9]", o.LatencyCount)
	case o.LatencyRepeat < 1 || o.LatencyRepeat > 100:
		return c, cli.Usagef("--latency-repeat %d out of range [1, 100]", o.LatencyRepeat)
	case o.IdleWorkers < 0 || o.IdleWorkers > 200:
		return c, cli.Usagef("--idle-workers %d out of range [0, 200]", o.IdleWorkers)
	case o.IdleAdded < 0 || o.IdleAdded > 200:
		return c, cli.Usagef("--idle-added %d out of range [0, 200]", o.IdleAdded)
	case o.IdleWindow < time.Second:
		return c, cli.Usagef("--idle-window %s: at least 1s", o.IdleWindow)
	case o.IdleProbes < 0 || o.IdleProbes > 1000:
		return c, cli.Usagef("--idle-probes %d out of range [0, 1000]", o.IdleProbes)
	case o.LoneProbes < 0 || o.LoneProbes > 100:
		return c, cli.Usagef("--lone-probes %d out of range [0, 100]", o.LoneProbes)
	case o.Only != "" && o.Only != config.OnlyIdle && o.Only != config.OnlyLatency:
		return c, cli.Usagef("--only %q: want %q or %q", o.Only, config.OnlyIdle, config.OnlyLatency)
	case o.Only == config.OnlyLatency && len(o.Latency) == 0:
		return c, cli.Usagef("--only latency needs --latency")
	case o.Only == config.OnlyIdle && o.IdleWorkers == 0:
		return c, cli.Usagef("--only idle needs --idle-workers above 0")
	case o.Only != "" && (c.markdown != "" || c.chart != "" || o.Sweep || o.Cluster):
		return c, cli.Usagef("--only %s runs and prints its part alone; --markdown, --chart, --sweep and --cluster take the whole benchmark", o.Only)
	case o.TrialTimeout <= 0:
		return c, cli.Usagef("--timeout %s must be positive", o.TrialTimeout)
	case c.chart != "" && !o.Sweep:
		return c, cli.Usagef("--chart draws the sweep: add --sweep")
	case c.chart != "" && !strings.HasSuffix(c.chart, ".svg") && !strings.HasSuffix(c.chart, ".png"):
		return c, cli.Usagef("--chart %q: want a .svg or .png file", c.chart)
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
// read as integer flags are (cli.Atoi: 010 is ten, no other base).
func intList(flagName, s string, lo, hi int) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := cli.Atoi(strings.TrimSpace(f))
		if err != nil || n < lo || n > hi {
			return nil, cli.Usagef("%s %q: want comma-separated integers in [%d, %d]", flagName, s, lo, hi)
		}
		out = append(out, n)
	}
	return out, nil
}

// durationList parses the added round-trip times of --latency: durations in
// (0, 1s], comma-separated; "" or "none" is none.
func durationList(flagName, s string) ([]time.Duration, error) {
	if strings.TrimSpace(s) == "" || strings.TrimSpace(s) == "none" {
		return nil, nil
	}
	var out []time.Duration
	for f := range strings.SplitSeq(s, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(f))
		if err != nil || d <= 0 || d > time.Second {
			return nil, cli.Usagef("%s %q: want comma-separated durations in (0, 1s], such as 0.5ms,2ms, or none", flagName, s)
		}
		out = append(out, d)
	}
	return out, nil
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "worker" {
		return runWorker(ctx, args[1:], getenv, stdout, stderr)
	}
	c, err := parse(args, getenv, stdout)
	if err != nil {
		return err
	}
	c.opts.Progress = stderr
	if c.opts.Peers && c.opts.Only == "" {
		if err := peers.Check(); err != nil {
			return cli.Usagef("%v; or run with --peers=false, which leaves them out of the report", err)
		}
	}
	rep, err := suite.Run(ctx, c.opts)
	if err != nil {
		return err
	}
	command := "bench " + strings.Join(args, " ")
	switch c.opts.Only {
	case config.OnlyIdle:
		fmt.Fprint(stdout, rep.IdleMarkdown(strings.TrimSpace(command)))
		return nil
	case config.OnlyLatency:
		fmt.Fprint(stdout, rep.LatencySection())
		return nil
	}
	if c.chart != "" {
		if err := os.MkdirAll(filepath.Dir(c.chart), 0o755); err != nil {
			return err
		}
		if err := report.Chart(c.chart, rep); err != nil {
			return fmt.Errorf("chart: %w", err)
		}
		fmt.Fprintf(stderr, "chart written to %s\n", c.chart)
	}
	section := rep.Markdown(strings.TrimSpace(command), c.chart, c.markdown)
	fmt.Fprint(stdout, section)
	if c.markdown != "" {
		if err := report.UpdateMarkdown(c.markdown, section); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "figures written to %s\n", c.markdown)
	}
	return nil
}
