package report

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/bench/internal/capacity"
	"bitqueue/bench/internal/config"
	"bitqueue/bench/internal/host"
	"bitqueue/bench/internal/measure"
	"bitqueue/bench/internal/redisstat"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func fakeTrial(kind string, w, b int, wall time.Duration) measure.Trial {
	n := uint64(2_000_000)
	return measure.Trial{
		Kind: kind, Workers: w, Batch: b, Ints: n, Batches: int(n) / b, Wall: wall, Enqueue: wall / 3,
		P50: wall / 2, P99: wall, Max: wall,
		CPU:      measure.CPU{Redis: wall / 2, Workers: wall, Bench: wall / 4},
		Commands: map[string]redisstat.CmdStat{"evalsha": {Calls: 3 * int64(n) / int64(b), Usec: 200 * int64(n) / int64(b)}},
	}
}

// fakeReport is a run of every part with one trial of each kind.
func fakeReport() *Report {
	r := &Report{
		Started: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC), Took: 3 * time.Minute,
		Machine: host.Machine{CPUs: 2, Model: "Test CPU", Memory: "1 kB", Kernel: "6", Go: "go1.26", LoadAvg: "0 0 0"},
		Redis:   "redis-server 7", Opts: config.Options{Workers: 2, Count: 2_000_000, BatchSize: 1000, Max: 1 << 20, Repeat: 1, ProducerConcurrency: 8, FileCount: 1_000_000, SweepRepeat: 1},
		Main: measure.Cell{Workers: 2, Batch: 1000,
			Bits:  []measure.Trial{fakeTrial(measure.KindBits, 2, 1000, 200*time.Millisecond)},
			Empty: []measure.Trial{fakeTrial(measure.KindEmpty, 2, 1000, 150*time.Millisecond)}},
		Idle:       []time.Duration{10 * time.Millisecond, 20 * time.Millisecond},
		Ready:      []time.Duration{12 * time.Millisecond, 14 * time.Millisecond},
		PeakRSS:    []int64{20 << 20, 21 << 20},
		CacheBytes: 8 << 20,
		Memory:     measure.Memory{Ints: 2_000_000, Keys: 2000, Freed: 5_600_000, Clients: 1_200_000, PackedBits: 5_000_000, SampleKeys: 50, SampleUse: 2800, SampleBits: 2500},
		Producer:   []time.Duration{200 * time.Millisecond, 210 * time.Millisecond, 220 * time.Millisecond},
		Profile:    "File: worker\nType: cpu\n      flat  flat%\n",
	}
	for _, w := range []int{1, 2, 4} {
		for _, b := range []int{100, 1000, 10000} {
			r.Sweep = append(r.Sweep, measure.Cell{Workers: w, Batch: b,
				Bits:  []measure.Trial{fakeTrial(measure.KindBits, w, b, time.Duration(1e9*100/b/w+100e6))},
				Empty: []measure.Trial{fakeTrial(measure.KindEmpty, w, b, time.Duration(1e9*50/b/w+80e6))}})
		}
	}
	return r
}

// fakeIdle is an idle fleet of 20 workers over a minute whose Redis CPU is
// perWorker µs/s each above a baseline of 1,000 µs/s, its probes and a lone
// worker's pickups as given.
func fakeIdle(perWorker float64, probes, lone []time.Duration) *IdleFleet {
	const workers, window = 20, time.Minute
	return &IdleFleet{
		Workers: workers, PollInterval: 5 * time.Second, BusyPollInterval: 25 * time.Millisecond, IdleAfter: 2 * time.Second,
		Settle: 15 * time.Second, Window: window, Baseline: 10 * time.Second,
		BaselineBefore: 900e-6, BaselineAfter: 1100e-6,
		CPU:       time.Duration((1000 + workers*perWorker) * float64(window) / 1e6),
		Added:     30,
		AddedCPU:  time.Duration((1000 + (workers+30)*perWorker) * float64(window) / 1e6),
		WorkerCPU: workers * window / 1000,
		Commands: map[string]redisstat.CmdStat{
			"evalsha": {Calls: 20 * 60, Usec: 20 * 60 * 10}, "zadd": {Calls: 20 * 60 * 2 / 5, Usec: 20 * 60}, "ping": {Calls: 20 * 20, Usec: 20 * 20},
		},
		Clients: "61", Probes: probes, ProbeGap: [2]time.Duration{2500 * time.Millisecond, 4500 * time.Millisecond},
		ProbeLoad: [2]string{"3.00 2.00 1.00", "3.50 2.00 1.00"}, Batch: 1000,
		Lone: lone, LoneBound: 7500*time.Millisecond + 37500*time.Microsecond,
	}
}

// fullReport has three trials of each kind, worker flags, ready times split
// into their parts, the anti-pattern and commands seen in one kind only.
func fullReport() *Report {
	r := fakeReport()
	r.Opts.WorkerFlags = []string{"--cache-bits=16"}
	r.Opts.WorkerConcurrency = 4
	r.Opts.PollInterval = 25 * time.Millisecond
	r.Opts.Repeat = 3
	r.ReadyParts = [][2]time.Duration{{5 * time.Millisecond, 8 * time.Millisecond}, {6 * time.Millisecond, 9 * time.Millisecond}}
	r.ProducerCPU = []time.Duration{150 * time.Millisecond, 160 * time.Millisecond, 170 * time.Millisecond}
	s := fakeTrial(measure.KindShipped, 2, 1000, 1800*time.Millisecond)
	s.Ints, s.Batches = 20000, 20
	r.Shipped = &s
	r.Main.Bits = append(r.Main.Bits, fakeTrial(measure.KindBits, 2, 1000, 220*time.Millisecond), fakeTrial(measure.KindBits, 2, 1000, 190*time.Millisecond))
	r.Main.Empty = append(r.Main.Empty, fakeTrial(measure.KindEmpty, 2, 1000, 140*time.Millisecond), fakeTrial(measure.KindEmpty, 2, 1000, 160*time.Millisecond))
	r.Main.Bits[1].Commands = map[string]redisstat.CmdStat{"hset": {Calls: 6000, Usec: 40000}, "exec": {Calls: 2000, Usec: 30000}, "rare": {Calls: 1, Usec: 1}}
	r.Main.Empty[2].Commands = map[string]redisstat.CmdStat{"del": {Calls: 2000, Usec: 10000}}
	r.Opts.Sweep, r.Opts.SweepWorkers, r.Opts.SweepBatches = true, []int{1, 2, 4}, []int{100, 1000, 10000}
	r.Attribution = fakeProfiles()
	return r
}

// fakeAttribution is the profiles of 2 trials at batch size b on 2 workers
// that spent cpu over the profiles' window, of which the samples of stacks
// are a part.
func fakeAttribution(b int, cpu time.Duration, stacks ...measure.Stack) measure.Attribution {
	a := measure.Attribution{Workers: 2, Batch: b, CPU: cpu,
		Trials: []measure.Trial{fakeTrial(measure.KindBits, 2, b, 100*time.Millisecond), fakeTrial(measure.KindBits, 2, b, 100*time.Millisecond)}}
	a.Sampled, a.Parts = measure.SplitWorker(stacks)
	return a
}

// fakeStack is a sample of ms milliseconds whose frames are fs, leaf first.
func fakeStack(ms int, fs ...string) measure.Stack {
	return measure.Stack{CPU: time.Duration(ms) * time.Millisecond, Frames: fs}
}

// fakeProfiles are the attributions at B=1,000 and 10,000: at 1,000, 800 ms
// over 4,000 batches (200 µs each), half of 500 ms of samples in the
// handler; at 10,000, 400 ms over 400 batches (1,000 µs each), 210 of 300 ms
// in it.
func fakeProfiles() []measure.Attribution {
	const (
		task  = "bitqueue/internal/tasks.(*BitsHandler).ProcessTask"
		save  = "bitqueue/internal/results.(*Saver).Save"
		redis = "github.com/redis/go-redis/v9.(*Pipeline).Exec"
		pack  = "bitqueue/internal/tasks.Pack"
		dec   = "bitqueue/internal/base.DecodeBatch"
		gc    = "runtime.gcBgMarkWorker"
		asynq = "github.com/hibiken/asynq.(*processor).exec"
	)
	return []measure.Attribution{
		fakeAttribution(1000, 800*time.Millisecond,
			fakeStack(100, pack, task), fakeStack(80, redis, save, task), fakeStack(20, save, task), fakeStack(20, dec, task),
			fakeStack(30, "runtime.mallocgc", task), fakeStack(20, gc), fakeStack(230, asynq)),
		fakeAttribution(10_000, 400*time.Millisecond,
			fakeStack(150, pack, task), fakeStack(30, redis, save, task), fakeStack(10, save, task), fakeStack(20, dec, task),
			fakeStack(10, gc), fakeStack(80, asynq)),
	}
}

// minimalReport skipped every optional part, and its profiles failed.
func minimalReport() *Report {
	r := fakeReport()
	r.Idle, r.Memory, r.Producer, r.Sweep = nil, measure.Memory{}, nil, nil
	r.Profile, r.ProfileErr = "", "go tool pprof: not found"
	r.Attribution = []measure.Attribution{{Workers: 2, Batch: 1000, Err: "go tool pprof: not found"}, {Workers: 2, Batch: 10_000, Err: "go tool pprof: not found"}}
	r.PeersSkipped = "not run: the benchmark ran with --peers=false"
	return r
}

// missedReport misses every target it can.
func missedReport() *Report {
	r := fakeReport()
	r.Main.Bits[0] = fakeTrial(measure.KindBits, 2, 1000, 900*time.Millisecond)
	r.Idle = []time.Duration{60 * time.Millisecond, 300 * time.Millisecond}
	r.Ready = []time.Duration{80 * time.Millisecond}
	r.PeakRSS = []int64{50 << 20}
	r.Memory.Freed = 9_000_000
	r.Producer = []time.Duration{400 * time.Millisecond}
	r.ProducerCPU = []time.Duration{300 * time.Millisecond}
	r.Machine.LoadAvg = "9.00 8.00 7.00"
	r.ReadyParts = [][2]time.Duration{{60 * time.Millisecond, 70 * time.Millisecond}}
	r.IdleFleet = fakeIdle(250, []time.Duration{8 * time.Millisecond, 40 * time.Millisecond, 90 * time.Millisecond, 3 * time.Second},
		[]time.Duration{2 * time.Second, 8 * time.Second})
	r.IdleFleet.ProbeLoad[1] = "12.00 9.00 8.00"
	return r
}

// peersReport has measured peers: one in the main configuration, one in a
// sweep cell, one in a configuration bitqueue did not run.
func peersReport() *Report {
	r := fakeReport()
	r.Peers = []PeerRow{
		{Peer: "celery", Name: "Celery, prefork, Redis broker", Workers: 2, Batch: 1000, Ints: 1_000_000, Wall: 2500 * time.Millisecond},
		{Peer: "pool", Name: "Python process pool", Workers: 2, Batch: 10000, Ints: 2_000_000, Wall: 4 * time.Second},
		{Peer: "celery", Name: "Celery, prefork, Redis broker", Workers: 3, Batch: 1000, Ints: 1_000_000, Wall: 3 * time.Second},
		{Peer: "celery", Name: "Celery, prefork, Redis broker", Workers: 2, Batch: 10000, Ints: 2_000_000, Wall: 3 * time.Second},
	}
	r.Main.Bare = []measure.Trial{fakeTrial(measure.KindBare, 2, 1000, 140*time.Millisecond)}
	for _, c := range r.Sweep {
		r.SweepPeers = append(r.SweepPeers, PeerRow{Peer: "celery", Name: "Celery", Workers: c.Workers, Batch: c.Batch, Ints: 2_000_000, Wall: time.Duration(c.Workers) * 2 * time.Second})
	}
	r.ProducerRSS = []ProducerRSS{{Count: 1_000_000, Batch: 1000, PeakRSS: 20 << 20, Wall: 300 * time.Millisecond}, {Count: 20_000_000, Batch: 100_000, PeakRSS: 30 << 20, Wall: 5 * time.Second}}
	r.MaxCount = 10_000_000_000
	r.IdleFleet = fakeIdle(80, []time.Duration{5 * time.Millisecond, 9 * time.Millisecond, 12 * time.Millisecond}, []time.Duration{1200 * time.Millisecond, 4 * time.Second})
	r.Cluster = fakeCluster()
	return r
}

// calibration is runs of 2,000 batches on one master at the rates given,
// costing fixed ms of CPU a second and perBatch µs a batch, and 100 + 5 ×
// batches requests a second.
func calibration(name string, fixed, perBatch float64, rates ...float64) Calibration {
	c := Calibration{Redis: name}
	for i, rate := range rates {
		span := time.Duration(2000 / rate * float64(time.Second))
		p := capacity.Point{Batches: 2000, Span: span,
			CPU:   time.Duration((fixed*1e-3*span.Seconds() + perBatch*1e-6*2000) * float64(time.Second)),
			Reads: int64(100*span.Seconds() + 5*2000)}
		if i > 0 {
			p.Paced = rate
		} else {
			p.Commands = map[string]redisstat.CmdStat{"evalsha": {Calls: 6000}, "exec": {Calls: 4000}, "setbit": {Calls: 2000}}
		}
		c.Points = append(c.Points, p)
	}
	return c
}

// fakeCluster is a cluster run of 2,000 batches in one second: one master
// as the model says, one 10 % above it, one 50 % above it with twice the
// model's requests.
func fakeCluster() *ClusterCheck {
	c := &ClusterCheck{Shards: 3, Workers: 2, Batch: 1000, Ints: 2_000_000, Batches: 2000, Span: time.Second,
		OneMaster: calibration("a one-master cluster", 20, 50, 4000, 666, 1333),
		Plain:     calibration("a plain master", 15, 40, 4000, 666, 1333),
	}
	// The model: 20 ms + 50 µs × share; requests 100 + 5 × share.
	for i, h := range []struct{ tasks, results, marks int }{{700, 650, 0}, {650, 700, 2000}, {650, 650, 0}} {
		share := (3*float64(h.tasks) + float64(h.results) + float64(h.marks)) / 5
		model := 0.020 + 50e-6*share
		reads := 100 + 5*share
		dev := []float64{1, 1.1, 1.5}[i]
		c.Masters = append(c.Masters, ClusterMaster{Addr: fmt.Sprintf("127.0.0.1:700%d", i+1),
			CPU: time.Duration(dev * model * float64(time.Second)), Reads: int64(reads * []float64{1, 1, 2}[i]),
			Tasks: h.tasks, Results: h.results, Marks: h.marks,
			Commands: map[string]redisstat.CmdStat{"evalsha": {Calls: int64(3 * h.tasks)}, "exec": {Calls: int64(h.results + h.marks)}, "rare": {Calls: 1}}})
	}
	return c
}

func TestMarkdownGolden(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, command, chart, markdown string
		report                         *Report
	}{
		{"sweep", "bench --sweep", "docs/bench-sweep.svg", "BENCHMARKS.md", fakeReport()},
		{"full", "bench --sweep --profile", "docs/bench-sweep.svg", "BENCHMARKS.md", fullReport()},
		{"full-no-chart", "bench --sweep", "", "", fullReport()},
		{"minimal", "bench --repeat 1", "", "", minimalReport()},
		{"missed", "bench", "", "", missedReport()},
		{"peers", "bench --sweep", "out/sweep.png", "out/BENCHMARKS.md", peersReport()},
		{"latency", "bench --latency 0.5ms,2ms", "", "", latencyReport()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := tc.report.Markdown(tc.command, tc.chart, tc.markdown)
			path := filepath.Join("testdata", tc.name+".md")
			if *update {
				require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test -update to write the golden file")
			require.Equal(t, string(want), got)
		})
	}
}

func TestIdleMarkdownGolden(t *testing.T) {
	t.Parallel()
	r := fakeReport()
	r.Main, r.Idle, r.Ready, r.PeakRSS, r.Memory, r.Producer, r.Sweep, r.Profile = measure.Cell{}, nil, nil, nil, measure.Memory{}, nil, nil, ""
	r.IdleFleet = fakeIdle(120, []time.Duration{5 * time.Millisecond, 60 * time.Millisecond, 250 * time.Millisecond}, []time.Duration{3 * time.Second})
	got := r.IdleMarkdown("bench --only idle")
	path := filepath.Join("testdata", "idle-only.md")
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to write the golden file")
	require.Equal(t, string(want), got)
}

func TestIdleFleet(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		perWorker float64 // µs/s
		verdict   string
	}{
		{"under the target", 80, "met"},
		{"over the target", 250, "**missed**"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := fakeIdle(tc.perWorker, nil, nil)
			require.InDelta(t, 1000e-6, f.BaselineRate(), 1e-12, "the mean of before and after")
			require.InDelta(t, tc.perWorker*1e-6, f.PerWorker(), 1e-9)
			require.InDelta(t, tc.perWorker*1e-6, f.PerWorkerOverBaseline(), 1e-9)
			// A baseline that drifted leaves the figure from the added
			// workers alone.
			f.BaselineAfter += 500e-6
			require.InDelta(t, tc.perWorker*1e-6, f.PerWorker(), 1e-9)
			require.InDelta(t, (tc.perWorker-250.0/20)*1e-6, f.PerWorkerOverBaseline(), 1e-9)
			f.BaselineAfter -= 500e-6
			require.InDelta(t, (60.0+24+20)/60, f.Calls(), 1e-9, "commands per second per worker")
			require.InDelta(t, 1e-3, f.WorkerRate(), 1e-12)
			cmds := f.IdleCommands()
			require.Equal(t, []string{"evalsha", "zadd", "ping"}, []string{cmds[0].Name, cmds[1].Name, cmds[2].Name})
			require.InDelta(t, 1000, cmds[0].PerModelFleet, 1e-9)
			require.Contains(t, atMost(f.PerWorker(), TargetIdleCore, "core"), tc.verdict)
		})
	}
}

func TestCapacity(t *testing.T) {
	t.Parallel()
	v := view{Report: peersReport()}
	c := v.Capacity()
	// 100 ms of Redis CPU and 200 ms of workers over 2,000 batches; evalsha
	// 200 µs per batch is the only command.
	require.InDelta(t, 50, c.CB, 1e-9)
	require.InDelta(t, 100, c.WB, 1e-9)
	require.InDelta(t, 200, c.CE, 1e-9)
	require.InDelta(t, 80, c.CI, 1e-6)
	require.InDelta(t, 2.8e6, c.M, 1e-6)
	require.InDelta(t, 0.7e6/50, c.PerMaster(c.CB, 0), 1e-6)
	require.InDelta(t, (0.7e6-1000*80)/50, c.PerMaster(c.CB, 1000), 1e-3)
	require.Zero(t, c.PerMaster(c.CB, 1e6), "an idle fleet beyond the core leaves nothing")
}

func TestEntryUsec(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cmds map[string]redisstat.CmdStat
		want float64
	}{
		{"scripts and transactions count once", map[string]redisstat.CmdStat{"evalsha": {Usec: 50}, "exec": {Usec: 10}, "multi": {Usec: 1}, "hset": {Usec: 8}, "del": {Usec: 2}}, 61},
		{"commands sent alone", map[string]redisstat.CmdStat{"ping": {Usec: 3}, "zadd": {Usec: 4}}, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.InDelta(t, tc.want, entryUsec(tc.cmds), 1e-9)
		})
	}
}

func TestWhyMissed(t *testing.T) {
	t.Parallel()
	require.Empty(t, view{Report: fakeIdleMet()}.WhyMissed(), "every target met: no cause")
	why := strings.Join(view{Report: missedReport()}.WhyMissed(), "\n")
	for _, want := range []string{
		"End to end: a batch costs", "Worker ready: the slowest process took 80.0 ms", "building the cache",
		"Worker peak RSS: 50.0 MiB", "Redis memory: the results hold 1.80 × their packed bits of used_memory, of which the result keys themselves (MEMORY USAGE) are 1.12 ×", "Producer from a file: 300 ms of CPU",
		"Idle worker: each sends 1.73 commands/s", "Idle pickup: 1 of 4 probes took over 200 ms (slowest 3000 ms)", "its wake-up lost",
		"load 3.00 2.00 1.00 → 12.00 9.00 8.00 on 2 cores", "Lone idle worker: its slowest pickup, 8000 ms, is 462 ms above",
	} {
		require.Contains(t, why, want)
	}
}

// fakeIdleMet meets every target, the idle fleet's included.
func fakeIdleMet() *Report {
	r := fakeReport()
	r.Main.Bits[0] = fakeTrial(measure.KindBits, 2, 1000, 140*time.Millisecond)
	for i, c := range r.Sweep {
		if c.Workers == 2 && c.Batch == ShareBatch { // the share at B=10,000 too
			r.Sweep[i].Bits = []measure.Trial{fakeTrial(measure.KindBits, 2, ShareBatch, c.Empty[0].Wall)}
		}
	}
	r.IdleFleet = fakeIdle(80, []time.Duration{5 * time.Millisecond}, []time.Duration{time.Second})
	return r
}

func TestMarkdownShape(t *testing.T) {
	t.Parallel()
	md := fakeReport().Markdown("bench --sweep", "docs/bench-sweep.svg", "BENCHMARKS.md")
	require.True(t, strings.HasPrefix(md, BeginMarker), md)
	require.True(t, strings.HasSuffix(md, EndMarker+"\n"), md)
	for _, want := range []string{
		"`bench --sweep`", "**10.00 M ints/s**", "**75 %**", "p50 10.0 ms, p99 20.0 ms", "1.12 ×",
		"300 B fixed per key", "**0.210 s**", "](docs/bench-sweep.svg)", "| 4 | 10,000 |", "Type: cpu",
	} {
		require.Contains(t, md, want)
	}
	require.NotContains(t, md, "File: worker")
	require.NotContains(t, md, "peer", "a run that measured no peer shows none")
	require.NotContains(t, md, "reference", "no figure typed into the code")
}

func TestPeerRatio(t *testing.T) {
	t.Parallel()
	v := view{Report: peersReport()}
	// bitqueue's main median: 10 M ints/s; the sweep's W=2, B=10,000 cell:
	// 2,000,000 ints in 105 ms.
	require.InDelta(t, 25, v.PeerRatio(v.Peers[0]), 1e-9)
	require.InDelta(t, 2e6/0.105/0.5e6, v.PeerRatio(v.Peers[1]), 1e-9)
	require.Zero(t, v.PeerRatio(v.Peers[2]))
	require.Equal(t, "≥ 15 ×", v.PeerTarget(v.Peers[0]))
	require.Equal(t, "met", v.PeerVerdict(v.Peers[0]))
	require.Equal(t, "—", v.PeerTarget(v.Peers[1]), "no target against the pool")
	require.Equal(t, "bitqueue not measured at this W and B", v.PeerVerdict(v.Peers[2]))
	// Celery at B=10,000: 0.67 M ints/s against bitqueue's 19.05 M: 28.6 ×.
	require.Contains(t, v.PeerVerdict(v.Peers[3]), "**missed** by")
	require.InDelta(t, 1.5, v.ProducerRSSSpread(), 1e-9)
	m := v.Model()
	require.Empty(t, m.FitErr)
	require.InDelta(t, 0.020, m.Fit.Fixed, 1e-6)
	require.InDelta(t, 50e-6, m.Fit.PerBatch, 1e-9)
	require.Equal(t, capacity.Trips{Queue: 3, Result: 1, Done: 1}, m.Trips)
	require.Len(t, m.Rows, 3)
	require.InDelta(t, 0, m.Rows[0].Deviation(), 1e-3)
	require.Equal(t, "met", m.Rows[0].Verdict())
	require.InDelta(t, 0.1, m.Rows[1].Deviation(), 1e-3)
	require.Equal(t, "**missed**", m.Rows[2].Verdict())
	require.InDelta(t, 2000, m.All.Share, 1e-9, "every batch counted once over the masters")
	require.False(t, m.Met())
	require.Contains(t, m.ModeCost(), "paced at 666 batches/s, 80 against 63 µs per batch (+28 %)")
	require.Contains(t, m.Cause(), "127.0.0.1:7003: 5,400 requests read against the model's 2,700 (+100 %)")
	require.NotContains(t, m.Cause(), "127.0.0.1:7001", "a master within the tolerance is not a cause")
}

func TestReplaceSection(t *testing.T) {
	t.Parallel()
	section := BeginMarker + "\nnew figures\n" + EndMarker + "\n"
	for _, tc := range []struct{ name, doc, want string }{
		{"empty file", "", section},
		{"no markers: appended", "# Benchmarks\n", "# Benchmarks\n\n" + section},
		{"markers: replaced, the rest kept", "# B\n\n<!-- bench-e2e:begin old -->\nold\n" + EndMarker + "\n\n## After\n", "# B\n\n" + section + "\n## After\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, replaceSection(tc.doc, section))
		})
	}
}

func TestUpdateMarkdown(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	section := BeginMarker + "\nfigures\n" + EndMarker + "\n"
	require.NoError(t, UpdateMarkdown(path, section))
	require.NoError(t, UpdateMarkdown(path, section))
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, section, string(got))
}

func TestThousands(t *testing.T) {
	t.Parallel()
	for in, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 1234567.4: "1,234,567", 10e6: "10,000,000"} {
		require.Equal(t, want, thousands(in))
	}
}

// latencyReport has the latency scenario: the reference (8 loops × 8)
// reached again at 0.5 ms by 8 loops, not by one loop whatever its
// concurrency, each of its batches taking one round trip more than the
// reference's; and at 2 ms by no shape, every loop taking its batches one
// round trip at a time.
func latencyReport() *Report {
	r := fakeReport()
	shapes := []Shape{{1, 8}, {1, 32}, {8, 8}}
	walls := map[time.Duration][]time.Duration{ // at each of shapes
		0:                      {205 * time.Millisecond, 210 * time.Millisecond, 200 * time.Millisecond},
		500 * time.Microsecond: {400 * time.Millisecond, 395 * time.Millisecond, 210 * time.Millisecond},
		2 * time.Millisecond:   {2200 * time.Millisecond, 2180 * time.Millisecond, 2250 * time.Millisecond},
	}
	l := &Latency{Workers: 2, Batch: 1000, Ints: 2_000_000, Repeat: 1, Reference: Shape{8, 8}, Pings: 200}
	for _, rtt := range []time.Duration{0, 500 * time.Microsecond, 2 * time.Millisecond} {
		l.Added = append(l.Added, AddedRTT{Nominal: rtt, Measured: rtt + 30*time.Microsecond})
		for i, s := range shapes {
			l.Cells = append(l.Cells, LatencyCell{RTT: rtt, Shape: s, PeakConns: 2 * (s.Loops*s.Concurrency + 2),
				Trials: []measure.Trial{fakeTrial(measure.KindBits, 2, 1000, walls[rtt][i])}})
		}
	}
	r.Latency = l
	return r
}

func TestLatencyNeeds(t *testing.T) {
	t.Parallel()
	l := latencyReport().Latency
	require.InDelta(t, 5e6, l.ReferencePerWorker(), 1e-6, "2,000,000 ints in 200 ms on 2 workers")
	needs := l.Needs()
	require.Len(t, needs, 3)
	for _, tc := range []struct {
		name       string
		need       LatencyNeed
		shape      Shape
		best       Shape
		oneAtATime bool
		slower     bool
	}{
		{"the proxy alone: one loop is within 90 % of the reference", needs[0], Shape{1, 8}, Shape{8, 8}, false, true},
		{"0.5 ms: 8 loops reach 95 %", needs[1], Shape{8, 8}, Shape{8, 8}, false, true},
		{"2 ms: none, one round trip at a time per loop", needs[2], Shape{}, Shape{1, 32}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.shape, tc.need.Shape)
			require.Equal(t, tc.shape.Loops > 0, tc.need.Met())
			require.Equal(t, tc.best, tc.need.Best.Shape)
			require.Equal(t, tc.oneAtATime, l.OneAtATime(tc.need))
			require.Equal(t, tc.slower, l.Slower(tc.need))
		})
	}
	// 8 loops at 2 ms taking 1 ms a batch: each loop takes 8 ms, far more
	// than one round trip at a time (2.23 ms).
	cpuBound := latencyReport().Latency
	cpuBound.Cells[8].Trials = []measure.Trial{fakeTrial(measure.KindBits, 2, 1000, time.Second)}
	n2 := cpuBound.Needs()[2]
	require.Equal(t, Shape{8, 8}, n2.Best.Shape)
	require.False(t, n2.Met())
	require.False(t, cpuBound.OneAtATime(n2), "8 ms a batch per loop is not one round trip at a time")
	require.True(t, cpuBound.Slower(n2))
	require.Equal(t, "1 × 8: 2.20 ms, 1 × 32: 2.18 ms, 8 × 8: 18.00 ms", l.MsPerLoopBatchEach(2*time.Millisecond))
	require.Equal(t, "1 × 8, 1 × 32, 8 × 8", l.Shapes())
	require.InDelta(t, 0.2+2.03, l.OneTripMore(2*time.Millisecond), 1e-9, "the reference's 0.2 ms per batch and one measured RTT")
	one := &Latency{Workers: 2, Reference: Shape{8, 8}, Added: l.Added[:2], Cells: []LatencyCell{l.Cells[2], l.Cells[3]}}
	n := one.Needs()[1]
	require.False(t, n.Met(), "0.5 ms at 1 × 8 only: half the reference")
	require.Equal(t, 1, n.Cells)
	require.False(t, one.OneAtATime(n), "one shape says nothing of what more would do")
	section := latencyReport().LatencySection()
	require.True(t, strings.HasPrefix(section, "#### Across hosts"), section)
	require.Contains(t, latencyReport().Markdown("bench", "", ""), section, "the section alone is the one the report holds")
	require.Empty(t, fakeReport().LatencySection(), "a run without the scenario")
}

// TestUpdateBlock checks that a named block's text is replaced between its
// markers, the rest of the file kept, and that a file without them is an
// error rather than a figure written nowhere.
func TestUpdateBlock(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "README.md")
	doc := "# Title\n\nBefore.\n<!-- bench-e2e:hook:begin -->\nold figures\n<!-- bench-e2e:hook:end -->\nAfter.\n"
	require.NoError(t, os.WriteFile(path, []byte(doc), 0o644))
	require.NoError(t, UpdateBlock(path, "hook", "new figures\n"))
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "# Title\n\nBefore.\n<!-- bench-e2e:hook:begin -->\nnew figures\n<!-- bench-e2e:hook:end -->\nAfter.\n", string(got))
	require.ErrorContains(t, UpdateBlock(path, "other", "x"), "no \"<!-- bench-e2e:other:begin -->\"")
}

// TestHookBlock checks README's paragraph of the hook's figures: every row,
// its figures and ratio.
func TestHookBlock(t *testing.T) {
	t.Parallel()
	h := &Hook{Count: 5, Rows: []HookRow{
		{What: "one bitstring", Cache: "BenchmarkLookup", Direct: "BenchmarkDirect", CacheIntsPerS: 200e6, DirectIntsPerS: 250e6},
		{What: "a batch", Cache: "BenchmarkPack", Direct: "BenchmarkPackDirect", CacheIntsPerS: 150e6, DirectIntsPerS: 150e6},
	}}
	require.Equal(t, "Measured by `make bench-e2e` (`make bench`'s benchmarks, median of 5 runs, on the machine of [BENCHMARKS.md](BENCHMARKS.md#the-startup-hooks-cache-against-bitslen64)):"+
		" one bitstring, 200.00 M ints/s with the cache (`BenchmarkLookup`) against 250.00 M with `bits.Len64` (`BenchmarkDirect`), × 0.80;"+
		" a batch, 150.00 M ints/s with the cache (`BenchmarkPack`) against 150.00 M with `bits.Len64` (`BenchmarkPackDirect`), × 1.00.", h.HookBlock())
}

func TestSecondShare(t *testing.T) {
	t.Parallel()
	swept := func(workers ...int) *Report {
		r := fakeReport()
		r.Opts.Sweep, r.Opts.SweepWorkers, r.Opts.SweepBatches = true, workers, []int{100, 1000, 10000}
		r.Sweep = slices.DeleteFunc(r.Sweep, func(c measure.Cell) bool { return !slices.Contains(workers, c.Workers) })
		return r
	}
	noSweep := fakeReport()
	noSweep.Sweep = nil
	for _, tc := range []struct {
		name   string
		report *Report
		notRun string  // empty: measured
		ratio  float64 // when measured
	}{
		{"the sweep's cell at the main W", swept(1, 2, 4), "", 0.0825 / 0.105},
		{"no sweep", noSweep, "the benchmark ran without --sweep", 0},
		{"a sweep without the main W", swept(1, 4), "the sweep has no cell at W=2, B=10,000 (--sweep-workers, --sweep-batches)", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := view{Report: tc.report}.SecondShare()
			require.NotNil(t, s)
			require.Equal(t, ShareBatch, s.Batch)
			require.Equal(t, 2, s.Workers)
			require.Equal(t, tc.notRun, s.NotRun)
			md := tc.report.Markdown("bench", "", "")
			if tc.notRun != "" {
				require.Nil(t, s.Cell)
				require.Contains(t, md, "| share of the empty-handler ceiling at B=10,000 | not run: "+tc.notRun+" | ≥ 90 % | not run |")
				return
			}
			require.NotNil(t, s.Cell)
			require.InDelta(t, tc.ratio, s.Cell.Ratio(), 1e-9, "the W=2, B=10,000 cell: 105 ms against the ceiling's 82.5 ms")
			require.Contains(t, md, "| share of the empty-handler ceiling at B=10,000, same run (the sweep's cell at W=2, median of 1) | **79 %**")
		})
	}
	r := fakeReport()
	r.Main.Batch, r.Opts.BatchSize = ShareBatch, ShareBatch
	require.Nil(t, view{Report: r}.SecondShare(), "the main row is the share at B=10,000")
}

func TestAttributions(t *testing.T) {
	t.Parallel()
	v := view{Report: fullReport()}
	tbl := v.Attributions()
	require.NotNil(t, tbl)
	require.Equal(t, []int{1000, 10_000}, tbl.Batches)
	cells := map[string][]string{}
	for _, r := range tbl.Rows {
		cells[r.Name] = r.Cells
	}
	// B=1,000: 800 ms over 4,000 batches, 200 µs each; B=10,000: 400 ms
	// over 400 batches, 1,000 µs each. The handler: half of 50 samples,
	// 210 of 300 ms; ± √(share × (1 − share) / samples) of the same.
	require.Equal(t, []string{"**100 ± 14 (50 %)**", "**700 ± 84 (70 %)**"}, cells["**the handler, as a whole** (`metrics.(*Worker).Handler`'s wrapper → `tasks.(*BitsHandler).ProcessTask`)"])
	require.Equal(t, []string{"40 ± 11 (20 %)", "500 ± 91 (50 %)"}, cells["— converting and packing (`tasks.Pack` with the cache's lookups, `cache.(*Cache).Lookup`)"])
	require.Equal(t, []string{"32 ± 10 (16 %)", "100 ± 55 (10 %)"}, cells["— — of which the go-redis client (`github.com/redis/go-redis/…`)"])
	require.Equal(t, []string{"200", "1000"}, cells["the workers' CPU per batch over the profiles' window, from start to stop (/proc): what the shares are of"])
	require.Equal(t, []string{"+27 (102 against 75)", "+112 (525 against 412)"}, cells["for comparison, pipeline − ceiling: worker processes (the main configuration's trials, or the sweep's cell at the same W and B)"])

	why := strings.Join(v.WhyMissed(), "\n")
	require.Contains(t, why, "Share of the ceiling at B=1,000: the handler and the result write add +47 µs of CPU per batch")
	require.Contains(t, why, "The workers' CPU profiles at B=1,000 (50 samples) put bitqueue's handler at 100 ± 14 µs of worker CPU per batch, against the workers' +27 µs over the ceiling: the result write 40 µs (of which the go-redis client 32 µs), converting and packing 40 µs, the rest of the handler 12 µs, decoding the payload 8 µs, metrics 0 µs, logging 0 µs.")
	require.Contains(t, why, "Share of the ceiling at B=10,000 (the sweep's cell at W=2): the handler and the result write add +197 µs")
	require.Contains(t, why, "put bitqueue's handler at 700 ± 84 µs of worker CPU per batch, against the workers' +112 µs over the ceiling: converting and packing 500 µs, the result write 133 µs (of which the go-redis client 100 µs), decoding the payload 67 µs")

	m := minimalReport()
	require.Nil(t, view{Report: m}.Attributions(), "every profile failed: no table")
	require.Contains(t, m.Markdown("bench", "", ""), "Not profiled: B=1,000: go tool pprof: not found; B=10,000: go tool pprof: not found.")
	require.Contains(t, strings.Join(view{Report: m}.WhyMissed(), "\n"), "The workers' CPU profiles at B=1,000 failed: go tool pprof: not found.")
	require.Nil(t, view{Report: fakeReport()}.Attributions(), "no --profile: no table")
}
