// Package bench measures bitqueue end to end: a real Redis, fleets of real
// worker processes, the producer's enqueue path, and the two baselines every
// figure is read against (asynq's empty-handler ceiling and the cache shipped
// in every task). cmd/bench wires it to the command line.
package bench

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"bitqueue/internal/cache"
	"bitqueue/internal/input"
	"bitqueue/internal/redisconn"
	"bitqueue/internal/results"
	"bitqueue/internal/runs"
	"bitqueue/internal/tasks"
)

// Options configure a benchmark. Zero durations and counts of the worker
// settings leave the worker's own defaults in force.
type Options struct {
	RedisURL    string // a Redis to use; empty: start RedisServer
	RedisServer string // redis-server binary
	Bin         string // directory of the worker and producer binaries
	// Self runs a baseline worker: Self plus BaselineArgs(handler, ...)
	// must start a process serving through internal/worker.Serve.
	Self []string

	Workers             int
	Count               uint64
	BatchSize           int
	Max                 uint64 // integers are drawn from [0, Max)
	Repeat              int
	WorkerConcurrency   int           // 0: the worker's default
	PollInterval        time.Duration // 0: the worker's default
	WorkerFlags         []string      // more flags for the production worker only
	ProducerConcurrency int

	IdleSamples  int
	ShippedCount uint64 // integers through the anti-pattern; 0 skips it
	FileCount    uint64 // integers in the producer's input file; 0 skips it

	Sweep        bool
	SweepBatches []int
	SweepWorkers []int
	SweepRepeat  int

	Profile      bool   // collect a worker CPU profile (needs the go tool)
	ProfileDir   string // where profiles are kept; empty: a temporary directory
	TrialTimeout time.Duration
	Progress     io.Writer
}

// Kinds of trial.
const (
	KindBits    = "bitqueue"       // the production worker and handler
	KindEmpty   = "empty handler"  // the ceiling
	KindShipped = "cache per task" // the anti-pattern
)

// Trial is one measured run: n integers in batches, first enqueue to last
// completion seen.
type Trial struct {
	Kind     string
	Workers  int
	Batch    int
	Ints     uint64
	Batches  int
	Wall     time.Duration // first enqueue began → last completion seen
	Enqueue  time.Duration // first enqueue began → last enqueue began
	P50, P99 time.Duration // per-batch enqueue → completion seen
	Max      time.Duration
	CPU      CPU
	Commands map[string]CmdStat // INFO commandstats over the trial
}

// IntsPerSec is the trial's throughput in integers.
func (t Trial) IntsPerSec() float64 { return float64(t.Ints) / t.Wall.Seconds() }

// BatchesPerSec is the trial's throughput in batches (tasks).
func (t Trial) BatchesPerSec() float64 { return float64(t.Batches) / t.Wall.Seconds() }

// CPU is the CPU time spent during a trial, by process.
type CPU struct {
	Redis   time.Duration // INFO cpu (µs resolution)
	Workers time.Duration // /proc/<pid>/stat of the fleet (10 ms resolution)
	Bench   time.Duration // this process: producer and tracker
}

// Cell is one configuration's repeated trials: the pipeline and its ceiling.
type Cell struct {
	Workers, Batch int
	Bits, Empty    []Trial
}

// Median returns the trial of median wall time among ts.
func Median(ts []Trial) Trial { return median(ts, func(t Trial) time.Duration { return t.Wall }) }

// Ratio is the pipeline's median throughput over the ceiling's.
func (c Cell) Ratio() float64 {
	return Median(c.Bits).IntsPerSec() / Median(c.Empty).IntsPerSec()
}

// Memory is what results cost in Redis.
type Memory struct {
	Ints       uint64
	Keys       int
	UsedDelta  int64   // INFO used_memory after the run minus before
	PackedBits int64   // bytes of the bits fields the run stored
	SampleKeys int     // result keys measured with MEMORY USAGE
	SampleUse  float64 // their mean MEMORY USAGE, bytes
	SampleBits float64 // their mean bits field, bytes
}

// PerMillion is the growth of used_memory per 1,000,000 integers.
func (m Memory) PerMillion() float64 { return float64(m.UsedDelta) / float64(m.Ints) * 1e6 }

// KeyOverhead is the mean fixed cost of one result key beyond its bits.
func (m Memory) KeyOverhead() float64 { return m.SampleUse - m.SampleBits }

// Report is everything one benchmark run measured.
type Report struct {
	Started time.Time
	Took    time.Duration
	Machine Machine
	Redis   string // "redis-server 7.x started by the benchmark" or the URL
	Opts    Options
	Main    Cell
	Idle    []time.Duration // enqueue → result seen, one batch at a time
	Ready   []time.Duration // worker processes of the main fleet
	// ReadyParts are, for each, the cache build and Serve's start as logged.
	ReadyParts  [][2]time.Duration
	PeakRSS     []int64 // VmHWM of the main fleet's processes, bytes
	CacheBytes  int
	Memory      Memory
	Producer    []time.Duration // wall time of the producer binary on the file
	ProducerCPU []time.Duration // its CPU time (user + system), run by run
	Shipped     *Trial
	Profile     string // top of a worker's CPU profile
	ProfileErr  string
	Sweep       []Cell
}

// Run runs the benchmark that opts describe.
func Run(ctx context.Context, opts Options) (*Report, error) {
	b := &bench{opts: opts, log: opts.Progress}
	if b.log == nil {
		b.log = io.Discard
	}
	rep := &Report{Started: time.Now(), Opts: opts, Machine: ReadMachine()}
	if err := b.setup(ctx, rep); err != nil {
		b.teardown()
		return nil, err
	}
	defer b.teardown()

	if err := b.mainCell(ctx, rep); err != nil {
		return nil, err
	}
	if opts.ShippedCount > 0 {
		t, err := b.shipped(ctx)
		if err != nil {
			return nil, fmt.Errorf("anti-pattern baseline: %w", err)
		}
		rep.Shipped = &t
	}
	if opts.FileCount > 0 {
		d, cpu, err := b.producerFile(ctx)
		if err != nil {
			return nil, fmt.Errorf("producer from a file: %w", err)
		}
		rep.Producer, rep.ProducerCPU = d, cpu
	}
	if opts.Profile {
		var err error
		if rep.Profile, err = b.profile(ctx); err != nil {
			rep.ProfileErr = err.Error()
			fmt.Fprintf(b.log, "profile: %v\n", err)
		}
	}
	if opts.Sweep {
		for _, w := range opts.SweepWorkers {
			cells, err := b.sweepWorkers(ctx, w)
			if err != nil {
				return nil, fmt.Errorf("sweep W=%d: %w", w, err)
			}
			rep.Sweep = append(rep.Sweep, cells...)
		}
	}
	rep.Took = time.Since(rep.Started)
	return rep, nil
}

// bench is the state of one Run.
type bench struct {
	opts    Options
	log     io.Writer
	server  *Server
	url     string
	id      string // names this run's queues, key prefix and run ids
	prefix  string
	admin   redis.UniversalClient
	prod    redis.UniversalClient // the producer's client, hooked by tracker
	client  *asynq.Client
	insp    *asynq.Inspector
	tracker *Tracker
	events  *Events
	queues  []string
	runSeq  int
	mu      sync.Mutex
}

func (b *bench) setup(ctx context.Context, rep *Report) error {
	var buf [4]byte
	_, _ = rand.Read(buf[:])
	b.id = "bench-" + hex.EncodeToString(buf[:])
	b.prefix = b.id
	b.url = b.opts.RedisURL
	if b.url == "" {
		s, err := StartServer(ctx, b.opts.RedisServer)
		if err != nil {
			return err
		}
		b.server, b.url = s, s.URL
	}
	opt, err := redis.ParseURL(b.url)
	if err != nil {
		return fmt.Errorf("--redis %s: the benchmark needs a redis:// or rediss:// URL: %v", redisconn.Redact(b.url), err)
	}
	b.admin = redis.NewClient(opt)
	if err := b.admin.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis at %s: %w", redisconn.Redact(b.url), err)
	}
	srv, err := Info(ctx, b.admin, "server")
	if err != nil {
		return err
	}
	if b.server != nil {
		rep.Redis = fmt.Sprintf("redis-server %s started by the benchmark on %s (no persistence)", srv["redis_version"], opt.Addr)
	} else {
		rep.Redis = fmt.Sprintf("redis-server %s at %s", srv["redis_version"], redisconn.Redact(b.url))
	}
	if b.events, err = NewEvents(ctx, b.admin); err != nil {
		return err
	}
	if err := b.events.Set(ctx, "Kh"); err != nil {
		return err
	}
	if b.tracker, err = NewTracker(ctx, b.admin, opt.DB, b.prefix); err != nil {
		return err
	}
	popt := *opt
	popt.PoolSize = max(popt.PoolSize, b.opts.ProducerConcurrency+2)
	b.prod = redis.NewClient(&popt)
	b.prod.AddHook(b.tracker.Hook())
	b.client = asynq.NewClientFromRedisClient(b.prod)
	b.insp = asynq.NewInspectorFromRedisClient(b.admin)
	fmt.Fprintf(b.log, "bench %s: %s\n", b.id, rep.Redis)
	return nil
}

func (b *bench) teardown() {
	ctx := context.Background()
	if b.tracker != nil {
		b.tracker.Close()
	}
	if b.admin != nil && b.server == nil {
		// A Redis we did not start: remove every key this run made.
		for _, q := range b.queues {
			_ = b.insp.DeleteQueue(q, true)
			b.deleteMatching(ctx, "asynq:{"+q+"}:*")
			b.admin.SRem(ctx, "asynq:queues", q)
		}
		b.deleteMatching(ctx, b.prefix+":*")
	}
	if b.events != nil {
		b.events.Restore()
	}
	if b.client != nil {
		b.client.Close()
	}
	if b.prod != nil {
		b.prod.Close()
	}
	if b.admin != nil {
		b.admin.Close()
	}
	if b.server != nil {
		b.server.Stop()
	}
}

func (b *bench) deleteMatching(ctx context.Context, pattern string) {
	iter := b.admin.Scan(ctx, 0, pattern, 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
		if len(keys) == 1000 {
			b.admin.Unlink(ctx, keys...)
			keys = keys[:0]
		}
	}
	if len(keys) > 0 {
		b.admin.Unlink(ctx, keys...)
	}
}

func (b *bench) queue(ctx context.Context, kind string) (string, error) {
	q := b.id + "-" + kind
	b.queues = append(b.queues, q)
	if strings.Contains(kind, "empty") {
		return q, b.tracker.WatchTasks(ctx, q)
	}
	return q, nil
}

func (b *bench) nextRunID() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.runSeq++
	return b.id + "-r" + strconv.Itoa(b.runSeq)
}

// workerArgs are the flags every fleet gets, production or baseline.
func (b *bench) workerArgs(queue string) []string {
	args := []string{"--redis", b.url, "--queue", queue, "--prefix", b.prefix, "--result-ttl", "30m", "--log-level", "info", "--log-format", "text"}
	if b.opts.WorkerConcurrency > 0 {
		args = append(args, "--concurrency", strconv.Itoa(b.opts.WorkerConcurrency))
	}
	if b.opts.PollInterval > 0 {
		args = append(args, "--poll-interval", b.opts.PollInterval.String())
	}
	return args
}

func (b *bench) startFleet(ctx context.Context, kind, queue string, n int, extra func(i int) []string) (*Fleet, error) {
	return StartFleet(ctx, kind, n, func(i int) []string {
		var argv []string
		switch kind {
		case KindBits:
			// Metrics on, as deployed, on a free loopback port of each one's own.
			argv = append([]string{filepath.Join(b.opts.Bin, "worker")}, b.workerArgs(queue)...)
			argv = append(argv, "--http-addr", "127.0.0.1:0")
			argv = append(argv, b.opts.WorkerFlags...)
		case KindEmpty:
			argv = append(BaselineArgs(b.opts.Self, "empty"), b.workerArgs(queue)...)
		case KindShipped:
			argv = append(BaselineArgs(b.opts.Self, "shipped"), b.workerArgs(queue)...)
		}
		if extra != nil {
			argv = append(argv, extra(i)...)
		}
		return argv
	}, 30*time.Second)
}

// BaselineArgs is the command line that starts a baseline worker serving with
// handler ("empty" or "shipped"): self, "worker", "--handler", handler.
func BaselineArgs(self []string, handler string) []string {
	return append(append([]string{}, self...), "worker", "--handler", handler)
}

func (b *bench) producer(queue string, batch int) *runs.Producer {
	return &runs.Producer{
		Client:      b.client,
		Inspector:   b.insp,
		Store:       &results.Store{Client: b.prod, Prefix: b.prefix},
		Queue:       queue,
		BatchSize:   batch,
		MaxRetry:    10,
		Concurrency: b.opts.ProducerConcurrency,
		Logger:      slog.New(slog.DiscardHandler),
	}
}

type snapshot struct {
	cpu      CPU
	commands map[string]CmdStat
}

func (b *bench) snapshot(ctx context.Context, f *Fleet) (snapshot, error) {
	var s snapshot
	var err error
	if s.cpu.Redis, err = RedisCPU(ctx, b.admin); err != nil {
		return s, err
	}
	if s.cpu.Workers, err = f.CPU(); err != nil {
		return s, err
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return s, err
	}
	s.cpu.Bench = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	s.commands, err = CommandStats(ctx, b.admin)
	return s, err
}

func diffCommands(before, after map[string]CmdStat) map[string]CmdStat {
	out := map[string]CmdStat{}
	for k, a := range after {
		d := CmdStat{Calls: a.Calls - before[k].Calls, Usec: a.Usec - before[k].Usec}
		if d.Calls > 0 {
			out[k] = d
		}
	}
	return out
}

// trial enqueues n random integers in batches through the producer's code
// path on queue, served by fleet, and waits until every batch is done.
func (b *bench) trial(ctx context.Context, kind, queue string, f *Fleet, n uint64, batch int, keep bool) (Trial, *Followed, error) {
	id := b.nextRunID()
	batches := runs.Batches(n, batch)
	signal, flags := ResultStored, "Kh"
	if kind == KindEmpty {
		signal, flags = TaskDeleted, "Kg"
	}
	if err := b.events.Set(ctx, flags); err != nil {
		return Trial{}, nil, err
	}
	r := b.tracker.Follow(id, batches, signal)
	defer b.tracker.Forget(id)
	before, err := b.snapshot(ctx, f)
	if err != nil {
		return Trial{}, nil, err
	}
	if _, err := b.producer(queue, batch).Enqueue(ctx, id, input.Random(runs.SeedFor(id), n, b.opts.Max), n); err != nil {
		return Trial{}, nil, fmt.Errorf("enqueue run %s: %w", id, err)
	}
	if err := b.wait(ctx, r, f); err != nil {
		return Trial{}, nil, err
	}
	after, err := b.snapshot(ctx, f)
	if err != nil {
		return Trial{}, nil, err
	}
	t := b.summarize(kind, f, n, batch, r)
	t.CPU = CPU{Redis: after.cpu.Redis - before.cpu.Redis, Workers: after.cpu.Workers - before.cpu.Workers, Bench: after.cpu.Bench - before.cpu.Bench}
	t.Commands = diffCommands(before.commands, after.commands)
	if kind != KindEmpty && !keep {
		b.deleteResults(ctx, id, batches)
	}
	fmt.Fprintf(b.log, "  %-15s W=%d B=%-6d %9d ints in %8s: %6.2f M ints/s, %7.0f batches/s, p50 %s p99 %s\n",
		kind, t.Workers, batch, n, t.Wall.Round(time.Millisecond), t.IntsPerSec()/1e6, t.BatchesPerSec(),
		t.P50.Round(100*time.Microsecond), t.P99.Round(100*time.Microsecond))
	return t, r, nil
}

func (b *bench) summarize(kind string, f *Fleet, n uint64, batch int, r *Followed) Trial {
	first, lastEnq, last := r.span()
	lat := r.Latencies()
	return Trial{
		Kind: kind, Workers: len(f.Procs), Batch: batch, Ints: n, Batches: len(r.Done),
		Wall: last.Sub(first), Enqueue: lastEnq.Sub(first),
		P50: Percentile(lat, 50), P99: Percentile(lat, 99), Max: Percentile(lat, 100),
	}
}

func (b *bench) wait(ctx context.Context, r *Followed, f *Fleet) error {
	deadline := time.Now().Add(b.opts.TrialTimeout)
	for {
		err := r.Wait(ctx, time.Second)
		if err == nil || ctx.Err() != nil {
			return err
		}
		if aerr := f.Alive(); aerr != nil {
			return aerr
		}
		if terr := b.tracker.Err(); terr != nil {
			return fmt.Errorf("keyspace events: %w", terr)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("run %s: %d of %d batches not done after %s", r.ID, r.remaining(), len(r.Done), b.opts.TrialTimeout)
		}
	}
}

func (b *bench) deleteResults(ctx context.Context, runID string, batches int) {
	for start := 0; start < batches; start += 1000 {
		keys := make([]string, 0, 1000)
		for seq := start; seq < min(start+1000, batches); seq++ {
			keys = append(keys, results.Key(b.prefix, runID, uint64(seq)))
		}
		b.admin.Unlink(ctx, keys...)
	}
}

// warmUp runs a short unrecorded trial on each fleet, so that connection
// pools are full and scripts loaded before anything is measured.
func (b *bench) warmUp(ctx context.Context, qb string, fb *Fleet, qe string, fe *Fleet, batch int) error {
	n := min(b.opts.Count, uint64(max(100*batch, 100_000)))
	if _, _, err := b.trialQuiet(ctx, KindBits, qb, fb, n, batch); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	if _, _, err := b.trialQuiet(ctx, KindEmpty, qe, fe, n, batch); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	return nil
}

func (b *bench) trialQuiet(ctx context.Context, kind, queue string, f *Fleet, n uint64, batch int) (Trial, *Followed, error) {
	log := b.log
	b.log = io.Discard
	defer func() { b.log = log }()
	return b.trial(ctx, kind, queue, f, n, batch, false)
}

// mainCell measures the main configuration: R interleaved trials of the
// pipeline and of the ceiling, then memory, ready time, peak RSS and the
// idle-fleet latency.
func (b *bench) mainCell(ctx context.Context, rep *Report) error {
	o := b.opts
	fmt.Fprintf(b.log, "main: W=%d N=%d B=%d, %d repeats (pipeline and ceiling interleaved)\n", o.Workers, o.Count, o.BatchSize, o.Repeat)
	qb, err := b.queue(ctx, "bits")
	if err != nil {
		return err
	}
	qe, err := b.queue(ctx, "empty")
	if err != nil {
		return err
	}
	fb, err := b.startFleet(ctx, KindBits, qb, o.Workers, nil)
	if err != nil {
		return err
	}
	defer fb.Stop()
	fe, err := b.startFleet(ctx, KindEmpty, qe, o.Workers, nil)
	if err != nil {
		return err
	}
	defer fe.Stop()
	for _, p := range fb.Procs {
		rep.Ready = append(rep.Ready, p.Ready)
		rep.ReadyParts = append(rep.ReadyParts, [2]time.Duration{p.CacheBuild, p.Serve})
	}
	cs, err := cache.New(cache.DefaultBits)
	if err != nil {
		return err
	}
	rep.CacheBytes = cs.Stats().Bytes

	if err := b.warmUp(ctx, qb, fb, qe, fe, o.BatchSize); err != nil {
		return err
	}
	rep.Main = Cell{Workers: o.Workers, Batch: o.BatchSize}
	for i := range o.Repeat {
		var used int64
		if i == 0 {
			time.Sleep(100 * time.Millisecond)
			if used, err = UsedMemory(ctx, b.admin); err != nil {
				return err
			}
		}
		t, r, err := b.trial(ctx, KindBits, qb, fb, o.Count, o.BatchSize, i == 0)
		if err != nil {
			return err
		}
		rep.Main.Bits = append(rep.Main.Bits, t)
		if i == 0 {
			if rep.Memory, err = b.memory(ctx, used, r, o.Count); err != nil {
				return err
			}
			b.deleteResults(ctx, r.ID, len(r.Done))
		}
		t, _, err = b.trial(ctx, KindEmpty, qe, fe, o.Count, o.BatchSize, false)
		if err != nil {
			return err
		}
		rep.Main.Empty = append(rep.Main.Empty, t)
	}

	if o.IdleSamples > 0 {
		fmt.Fprintf(b.log, "idle fleet: %d batches of %d, one at a time\n", o.IdleSamples, o.BatchSize)
		if rep.Idle, err = b.idle(ctx, qb, fb); err != nil {
			return err
		}
		fmt.Fprintf(b.log, "  enqueue → result seen: p50 %s, p99 %s, max %s\n",
			Percentile(rep.Idle, 50).Round(100*time.Microsecond), Percentile(rep.Idle, 99).Round(100*time.Microsecond), Percentile(rep.Idle, 100).Round(100*time.Microsecond))
	}
	for _, p := range fb.Procs {
		rss, err := p.PeakRSS()
		if err != nil {
			return err
		}
		rep.PeakRSS = append(rep.PeakRSS, rss)
	}
	return nil
}

// memory measures what the results of run r cost Redis: used_memory growth
// since used (taken just before the run), and MEMORY USAGE of sample keys
// against their bits fields.
func (b *bench) memory(ctx context.Context, used int64, r *Followed, n uint64) (Memory, error) {
	time.Sleep(100 * time.Millisecond) // let the fleet's last replies and events drain
	after, err := UsedMemory(ctx, b.admin)
	if err != nil {
		return Memory{}, err
	}
	m := Memory{Ints: n, Keys: len(r.Done), UsedDelta: after - used}
	lens := make([]*redis.IntCmd, len(r.Done))
	if _, err := b.admin.Pipelined(ctx, func(p redis.Pipeliner) error {
		for seq := range r.Done {
			lens[seq] = p.HStrLen(ctx, results.Key(b.prefix, r.ID, uint64(seq)), tasks.FieldBits)
		}
		return nil
	}); err != nil {
		return m, err
	}
	for _, c := range lens {
		m.PackedBits += c.Val()
	}
	const samples = 50
	for i := range min(samples, len(r.Done)) {
		key := results.Key(b.prefix, r.ID, uint64(i*len(r.Done)/min(samples, len(r.Done))))
		use, err := b.admin.MemoryUsage(ctx, key, 0).Result()
		if err != nil {
			return m, fmt.Errorf("MEMORY USAGE %s: %w", key, err)
		}
		bl, err := b.admin.HStrLen(ctx, key, tasks.FieldBits).Result()
		if err != nil {
			return m, err
		}
		m.SampleKeys++
		m.SampleUse += float64(use)
		m.SampleBits += float64(bl)
	}
	m.SampleUse /= float64(m.SampleKeys)
	m.SampleBits /= float64(m.SampleKeys)
	return m, nil
}

// idle enqueues one batch at a time on an idle fleet and returns each one's
// enqueue → result-seen latency. Batches start at random offsets so that they
// do not fall in step with the workers' polling.
func (b *bench) idle(ctx context.Context, queue string, f *Fleet) ([]time.Duration, error) {
	var out []time.Duration
	p := b.producer(queue, b.opts.BatchSize)
	if err := b.events.Set(ctx, "Kh"); err != nil {
		return nil, err
	}
	for i := range b.opts.IdleSamples {
		time.Sleep(mrand.N(50 * time.Millisecond))
		id := b.nextRunID()
		r := b.tracker.Follow(id, 1, ResultStored)
		n := uint64(b.opts.BatchSize)
		if _, err := p.Enqueue(ctx, id, input.Random(uint64(i), n, b.opts.Max), n); err != nil {
			return nil, err
		}
		if err := b.wait(ctx, r, f); err != nil {
			return nil, err
		}
		out = append(out, r.Latencies()...)
		b.tracker.Forget(id)
		b.deleteResults(ctx, id, 1)
	}
	return out, nil
}

// shipped runs the anti-pattern: a fleet whose handler gets the cache inside
// every task instead of building it once.
func (b *bench) shipped(ctx context.Context) (Trial, error) {
	o := b.opts
	fmt.Fprintf(b.log, "anti-pattern: the %d-byte cache shipped in every task, N=%d\n", 8<<cache.DefaultBits, o.ShippedCount)
	q, err := b.queue(ctx, "shipped")
	if err != nil {
		return Trial{}, err
	}
	f, err := b.startFleet(ctx, KindShipped, q, o.Workers, nil)
	if err != nil {
		return Trial{}, err
	}
	defer f.Stop()
	if err := b.events.Set(ctx, "Kh"); err != nil {
		return Trial{}, err
	}
	table := CacheTable(cache.DefaultBits)
	id := b.nextRunID()
	batches := runs.Batches(o.ShippedCount, o.BatchSize)
	r := b.tracker.Follow(id, batches, ResultStored)
	defer b.tracker.Forget(id)
	before, err := b.snapshot(ctx, f)
	if err != nil {
		return Trial{}, err
	}
	// Like a process pool's map: at most two batches wait in the queue per
	// worker process, so Redis holds a bounded number of copies.
	src, err := input.Random(runs.SeedFor(id), o.ShippedCount, o.Max).Open()
	if err != nil {
		return Trial{}, err
	}
	window := 2 * o.Workers
	for seq := range batches {
		nums := make([]uint64, 0, o.BatchSize)
		for range min(o.BatchSize, int(o.ShippedCount)-seq*o.BatchSize) {
			n, err := src.Next()
			if err != nil {
				return Trial{}, err
			}
			nums = append(nums, n)
		}
		payload, err := tasks.EncodeBatch(tasks.Batch{RunID: id, Seq: uint64(seq), Nums: nums})
		if err != nil {
			return Trial{}, err
		}
		if seq >= window {
			if err := b.waitOne(ctx, r, seq-window, f); err != nil {
				return Trial{}, err
			}
		}
		task := asynq.NewTask(TypeShipped, EncodeShipped(table, payload), asynq.TaskID(tasks.TaskID(id, uint64(seq))), asynq.Queue(q), asynq.MaxRetry(0))
		if _, err := b.client.EnqueueContext(ctx, task); err != nil {
			return Trial{}, err
		}
	}
	if err := b.wait(ctx, r, f); err != nil {
		return Trial{}, err
	}
	after, err := b.snapshot(ctx, f)
	if err != nil {
		return Trial{}, err
	}
	t := b.summarize(KindShipped, f, o.ShippedCount, o.BatchSize, r)
	t.CPU = CPU{Redis: after.cpu.Redis - before.cpu.Redis, Workers: after.cpu.Workers - before.cpu.Workers, Bench: after.cpu.Bench - before.cpu.Bench}
	t.Commands = diffCommands(before.commands, after.commands)
	b.deleteResults(ctx, id, batches)
	fmt.Fprintf(b.log, "  %-15s W=%d B=%-6d %9d ints in %8s: %6.3f M ints/s, %7.1f batches/s, p50 %s p99 %s\n",
		KindShipped, t.Workers, t.Batch, t.Ints, t.Wall.Round(time.Millisecond), t.IntsPerSec()/1e6, t.BatchesPerSec(),
		t.P50.Round(time.Millisecond), t.P99.Round(time.Millisecond))
	return t, nil
}

// waitOne waits until batch seq of r is done.
func (b *bench) waitOne(ctx context.Context, r *Followed, seq int, f *Fleet) error {
	deadline := time.Now().Add(b.opts.TrialTimeout)
	for {
		b.tracker.mu.Lock()
		done := !r.Done[seq].IsZero()
		b.tracker.mu.Unlock()
		if done {
			return nil
		}
		if err := f.Alive(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("run %s: batch %d not done after %s", r.ID, seq, b.opts.TrialTimeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
}

// producerFile times the producer binary enqueueing FileCount integers from
// a file (no worker serves the queue), three times.
func (b *bench) producerFile(ctx context.Context) (wall, cpu []time.Duration, err error) {
	o := b.opts
	dir, err := os.MkdirTemp("", "bitqueue-bench-input-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "numbers.txt")
	if err := writeNumbers(path, o.FileCount, o.Max); err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(b.log, "producer: %d integers from a file, batches of %d\n", o.FileCount, o.BatchSize)
	q, err := b.queue(ctx, "producer")
	if err != nil {
		return nil, nil, err
	}
	for range 3 {
		id := b.nextRunID()
		cmd := exec.CommandContext(ctx, filepath.Join(o.Bin, "producer"), "--redis", b.url, "--queue", q, "--prefix", b.prefix,
			"--input", path, "--batch-size", strconv.Itoa(o.BatchSize), "--run-id", id, "--log-level", "warn")
		start := time.Now()
		if outb, err := cmd.CombinedOutput(); err != nil {
			return nil, nil, fmt.Errorf("producer: %v: %s", err, outb)
		}
		d := time.Since(start)
		c := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		wall, cpu = append(wall, d), append(cpu, c)
		fmt.Fprintf(b.log, "  producer --input (%d integers): %s (CPU %s)\n", o.FileCount, d.Round(time.Millisecond), c.Round(time.Millisecond))
		if err := b.insp.DeleteQueue(q, true); err != nil {
			return nil, nil, fmt.Errorf("empty queue %s: %w", q, err)
		}
	}
	return wall, cpu, nil
}

// profile runs one pipeline trial on a fleet started with --cpu-profile and
// returns the top of the first worker's profile.
func (b *bench) profile(ctx context.Context) (string, error) {
	dir := b.opts.ProfileDir
	if dir == "" {
		d, err := os.MkdirTemp("", "bitqueue-bench-pprof-")
		if err != nil {
			return "", err
		}
		defer os.RemoveAll(d)
		dir = d
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	fmt.Fprintf(b.log, "profile: W=%d N=%d B=%d with --cpu-profile\n", b.opts.Workers, b.opts.Count, b.opts.BatchSize)
	q, err := b.queue(ctx, "profile")
	if err != nil {
		return "", err
	}
	files := make([]string, b.opts.Workers)
	f, err := b.startFleet(ctx, KindBits, q, b.opts.Workers, func(i int) []string {
		files[i] = filepath.Join(dir, fmt.Sprintf("worker-%d.pprof", i))
		return []string{"--cpu-profile", files[i]}
	})
	if err != nil {
		return "", err
	}
	for range 2 {
		if _, _, err := b.trial(ctx, KindBits, q, f, b.opts.Count, b.opts.BatchSize, false); err != nil {
			f.Stop()
			return "", err
		}
	}
	f.Stop()
	out, err := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", "-nodecount=30", filepath.Join(b.opts.Bin, "worker"), files[0]).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go tool pprof: %v: %s", err, out)
	}
	return string(out), nil
}

// sweepWorkers measures every batch size of the sweep on one fleet size.
func (b *bench) sweepWorkers(ctx context.Context, w int) ([]Cell, error) {
	fmt.Fprintf(b.log, "sweep: W=%d\n", w)
	qb, err := b.queue(ctx, fmt.Sprintf("sweep%d-bits", w))
	if err != nil {
		return nil, err
	}
	qe, err := b.queue(ctx, fmt.Sprintf("sweep%d-empty", w))
	if err != nil {
		return nil, err
	}
	fb, err := b.startFleet(ctx, KindBits, qb, w, nil)
	if err != nil {
		return nil, err
	}
	defer fb.Stop()
	fe, err := b.startFleet(ctx, KindEmpty, qe, w, nil)
	if err != nil {
		return nil, err
	}
	defer fe.Stop()
	var cells []Cell
	for _, batch := range b.opts.SweepBatches {
		if err := b.warmUp(ctx, qb, fb, qe, fe, batch); err != nil {
			return nil, err
		}
		c := Cell{Workers: w, Batch: batch}
		for range b.opts.SweepRepeat {
			t, _, err := b.trial(ctx, KindBits, qb, fb, b.opts.Count, batch, false)
			if err != nil {
				return nil, err
			}
			c.Bits = append(c.Bits, t)
			if t, _, err = b.trial(ctx, KindEmpty, qe, fe, b.opts.Count, batch, false); err != nil {
				return nil, err
			}
			c.Empty = append(c.Empty, t)
		}
		cells = append(cells, c)
	}
	return cells, nil
}

// Commands sums the command statistics of trials.
func Commands(ts []Trial) map[string]CmdStat {
	out := map[string]CmdStat{}
	for _, t := range ts {
		for k, v := range t.Commands {
			s := out[k]
			s.Calls += v.Calls
			s.Usec += v.Usec
			out[k] = s
		}
	}
	return out
}

// SumCPU sums the CPU time of trials.
func SumCPU(ts []Trial) CPU {
	var c CPU
	for _, t := range ts {
		c.Redis += t.CPU.Redis
		c.Workers += t.CPU.Workers
		c.Bench += t.CPU.Bench
	}
	return c
}

func wall(ts []Trial) time.Duration {
	var d time.Duration
	for _, t := range ts {
		d += t.Wall
	}
	return d
}

// writeNumbers writes n random integers below limit to path, one per line.
func writeNumbers(path string, n, limit uint64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<16)
	s, _ := input.Random(1, n, limit).Open()
	line := make([]byte, 0, 24)
	for {
		v, err := s.Next()
		if err != nil {
			break
		}
		line = strconv.AppendUint(line[:0], v, 10)
		line = append(line, '\n')
		if _, err := w.Write(line); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
