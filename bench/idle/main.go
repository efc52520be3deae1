// Command idle measures what an idle worker fleet costs Redis, and how soon
// the fleet picks up a batch after idling.
//
// It starts a redis-server of its own on a free loopback port, measures that
// server's own CPU with no client (the baseline), starts N real worker
// processes, lets them settle, and then reads INFO commandstats and INFO cpu
// over a window: commands per second by command, per worker, and the
// server's CPU beyond its baseline, per worker. With --probes K it then
// enqueues K one-integer batches, one at a time at random gaps, and reports
// the pickup latency: from the enqueue to the result's write, seen through a
// keyspace notification.
//
//	go build -o bin/ ./cmd/worker && go run ./bench/idle --workers 20 --probes 100
//	go run ./bench/idle --workers 20 --worker-args "--poll-interval 25ms"
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"bitqueue/internal/layout"
	"bitqueue/internal/tasks"
	"bitqueue/internal/wake"
	"bitqueue/redistest"
)

const (
	queue  = "idlebench"
	prefix = "idlebench"
)

type options struct {
	workers    int
	workerBin  string
	workerArgs string
	server     string
	baseline   time.Duration
	settle     time.Duration
	window     time.Duration
	scrape     time.Duration
	probes     int
	probeGap   time.Duration
	wake       bool
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "idle:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	var o options
	fs := flag.NewFlagSet("idle", flag.ContinueOnError)
	fs.IntVar(&o.workers, "workers", 20, "idle worker processes")
	fs.StringVar(&o.workerBin, "worker", "bin/worker", "the worker binary")
	fs.StringVar(&o.workerArgs, "worker-args", "", "extra flags of every worker, space-separated (e.g. \"--poll-interval 25ms\")")
	fs.StringVar(&o.server, "redis-server", "redis-server", "the redis-server binary")
	fs.DurationVar(&o.baseline, "baseline", 10*time.Second, "how long the server's own CPU is measured, with no worker")
	fs.DurationVar(&o.settle, "settle", 15*time.Second, "how long the workers idle before the window")
	fs.DurationVar(&o.window, "window", time.Minute, "the measured window")
	fs.DurationVar(&o.scrape, "scrape", 0, "scrape every worker's /metrics this often during the window (0: never)")
	fs.IntVar(&o.probes, "probes", 0, "after the window, batches enqueued one at a time to measure pickup latency")
	fs.DurationVar(&o.probeGap, "probe-gap", time.Second, "mean gap between probes (uniform in [gap/2, 3·gap/2])")
	fs.BoolVar(&o.wake, "wake", false, "after enqueueing each probe, wake the fleet as the producer does")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.workers < 0 || o.window <= 0 {
		return fmt.Errorf("--workers %d must be ≥ 0 and --window %s positive", o.workers, o.window)
	}

	srv, err := redistest.NewServer(redistest.Options{Binary: o.server})
	if err != nil {
		return err
	}
	defer srv.Close()
	addr := srv.Addr
	rdb := srv.Client()

	base, err := sample(ctx, rdb, o.baseline)
	if err != nil {
		return err
	}
	baseCPU := base.cpu / o.baseline.Seconds()

	fleet, err := startFleet(ctx, o, addr)
	defer fleet.stop()
	if err != nil {
		return err
	}
	if err := waitServers(ctx, rdb, o.workers); err != nil {
		return err
	}
	if err := sleep(ctx, o.settle); err != nil {
		return err
	}
	scrapeCtx, stopScrape := context.WithCancel(ctx)
	scrapes := make(chan int, 1)
	go func() { scrapes <- fleet.scrapeEvery(scrapeCtx, o.scrape) }()
	win, err := sample(ctx, rdb, o.window)
	stopScrape()
	if err != nil {
		return err
	}

	report(out, o, baseCPU, win, <-scrapes)
	if o.probes > 0 {
		lat, err := probe(ctx, rdb, addr, o)
		if err != nil {
			return err
		}
		reportLatency(out, o, lat)
	}
	return nil
}

// stats is what the server did during a window.
type stats struct {
	cpu   float64           // seconds of server CPU, user and system
	calls map[string]int64  // per command
	usec  map[string]int64  // per command, time spent executing it
	info  map[string]string // INFO cpu and clients fields at the end
}

// sample resets the server's command statistics, waits d and reads them.
func sample(ctx context.Context, rdb *redis.Client, d time.Duration) (stats, error) {
	if err := rdb.ConfigResetStat(ctx).Err(); err != nil {
		return stats{}, err
	}
	before, err := infoFields(ctx, rdb, "cpu")
	if err != nil {
		return stats{}, err
	}
	if err := sleep(ctx, d); err != nil {
		return stats{}, err
	}
	after, err := infoFields(ctx, rdb, "cpu")
	if err != nil {
		return stats{}, err
	}
	cmds, err := infoFields(ctx, rdb, "commandstats")
	if err != nil {
		return stats{}, err
	}
	clients, err := infoFields(ctx, rdb, "clients")
	if err != nil {
		return stats{}, err
	}
	s := stats{calls: map[string]int64{}, usec: map[string]int64{}, info: clients}
	for _, f := range []string{"used_cpu_sys", "used_cpu_user"} {
		a, _ := strconv.ParseFloat(after[f], 64)
		b, _ := strconv.ParseFloat(before[f], 64)
		s.cpu += a - b
	}
	for k, v := range cmds { // cmdstat_evalsha: calls=1,usec=2,usec_per_call=2.00,...
		name := strings.TrimPrefix(k, "cmdstat_")
		for part := range strings.SplitSeq(v, ",") {
			key, val, _ := strings.Cut(part, "=")
			n, _ := strconv.ParseInt(val, 10, 64)
			switch key {
			case "calls":
				s.calls[name] = n
			case "usec":
				s.usec[name] = n
			}
		}
	}
	// The harness's own INFO and CONFIG calls are not the fleet's.
	delete(s.calls, "info")
	delete(s.calls, "config|resetstat")
	return s, nil
}

func infoFields(ctx context.Context, rdb *redis.Client, section string) (map[string]string, error) {
	text, err := rdb.Info(ctx, section).Result()
	if err != nil {
		return nil, fmt.Errorf("INFO %s: %w", section, err)
	}
	m := map[string]string{}
	for line := range strings.SplitSeq(text, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(k, "#") {
			m[k] = v
		}
	}
	return m, nil
}

func report(out io.Writer, o options, baseCPU float64, s stats, scrapes int) {
	secs := o.window.Seconds()
	n := float64(max(o.workers, 1))
	var total int64
	names := make([]string, 0, len(s.calls))
	for name, c := range s.calls {
		total += c
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool { return s.calls[names[i]] > s.calls[names[j]] })
	fmt.Fprintf(out, "idle fleet: %d workers %q, window %s, settled %s, clients connected %s, /metrics scrapes %d\n",
		o.workers, o.workerArgs, o.window, o.settle, s.info["connected_clients"], scrapes)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "command\tcalls/s\tper worker/s\tµs/call (exec)\t")
	for _, name := range names {
		c := s.calls[name]
		fmt.Fprintf(tw, "%s\t%.1f\t%.3f\t%.2f\t\n", name, float64(c)/secs, float64(c)/secs/n, float64(s.usec[name])/float64(max(c, 1)))
	}
	fmt.Fprintf(tw, "total\t%.1f\t%.3f\t\t\n", float64(total)/secs, float64(total)/secs/n)
	tw.Flush()
	cpu := s.cpu/secs - baseCPU
	fmt.Fprintf(out, "redis CPU: %.3f%% of a core with the fleet, %.3f%% without (baseline); the fleet's share %.3f%%\n",
		100*s.cpu/secs, 100*baseCPU, 100*cpu)
	fmt.Fprintf(out, "per idle worker: %.1f µs of Redis CPU per second = %.4f%% of a core; 1,000 such workers: %.1f%% of a core\n",
		1e6*cpu/n, 100*cpu/n, 1000*100*cpu/n)
}

// probe enqueues one-integer batches one at a time, each after a random gap,
// and returns how long each took from enqueue to its result's write.
func probe(ctx context.Context, rdb *redis.Client, addr string, o options) ([]time.Duration, error) {
	if err := rdb.ConfigSet(ctx, "notify-keyspace-events", "Kh").Err(); err != nil {
		return nil, err
	}
	runID := fmt.Sprintf("probe-%d", time.Now().UnixNano())
	// Every result key of the run: the key of batch 0 without its seq.
	sub := rdb.PSubscribe(ctx, "__keyspace@0__:"+strings.TrimSuffix(layout.ResultKey(prefix, runID, 0), "0")+"*")
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil {
		return nil, err
	}
	msgs := sub.Channel()
	client := asynq.NewClientFromRedisClient(rdb)
	var lat []time.Duration
	for seq := range uint64(o.probes) {
		gap := o.probeGap/2 + rand.N(o.probeGap+1)
		if err := sleep(ctx, gap); err != nil {
			return nil, err
		}
		t, err := tasks.NewBitsTask(tasks.Batch{RunID: runID, Seq: seq, Nums: []uint64{seq}}, asynq.Queue(queue))
		if err != nil {
			return nil, err
		}
		start := time.Now()
		if _, err := client.EnqueueContext(ctx, t); err != nil {
			return nil, err
		}
		if o.wake {
			if _, err := wake.Publish(ctx, rdb, prefix); err != nil {
				return nil, err
			}
		}
		want := "__keyspace@0__:" + layout.ResultKey(prefix, runID, seq)
		timeout := time.NewTimer(time.Minute)
	wait:
		for {
			select {
			case m := <-msgs:
				if m.Channel == want {
					lat = append(lat, time.Since(start))
					break wait
				}
			case <-timeout.C:
				return nil, fmt.Errorf("probe %d: no result after a minute", seq)
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		timeout.Stop()
	}
	return lat, nil
}

func reportLatency(out io.Writer, o options, lat []time.Duration) {
	slices.Sort(lat)
	q := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	how := "polling only"
	if o.wake {
		how = "woken after each enqueue"
	}
	fmt.Fprintf(out, "pickup latency of %d workers, %s, %d probes (enqueue → result written): p50 %s, p90 %s, p99 %s, max %s\n",
		o.workers, how, len(lat), q(0.5).Round(100*time.Microsecond), q(0.9).Round(100*time.Microsecond),
		q(0.99).Round(100*time.Microsecond), lat[len(lat)-1].Round(100*time.Microsecond))
}

// fleet is the worker processes.
type fleet struct {
	procs []*exec.Cmd
	http  []string // their /metrics addresses, when scraped
}

func startFleet(ctx context.Context, o options, addr string) (*fleet, error) {
	f := &fleet{}
	for i := range o.workers {
		httpAddr := "off"
		if o.scrape > 0 {
			port, err := redistest.FreePort(false)
			if err != nil {
				return f, err
			}
			httpAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
			f.http = append(f.http, httpAddr)
		}
		args := []string{"--redis", "redis://" + addr + "/0", "--queue", queue, "--prefix", prefix,
			"--http-addr", httpAddr, "--log-level", "warn"}
		args = append(args, strings.Fields(o.workerArgs)...)
		cmd := exec.CommandContext(ctx, o.workerBin, args...)
		cmd.Stderr = &prefixWriter{w: os.Stderr, prefix: fmt.Sprintf("worker %d: ", i)}
		if err := cmd.Start(); err != nil {
			return f, fmt.Errorf("start %s: %w", o.workerBin, err)
		}
		f.procs = append(f.procs, cmd)
	}
	return f, nil
}

// scrapeEvery GETs every worker's /metrics every d until ctx ends, and
// returns how many scrapes it made.
func (f *fleet) scrapeEvery(ctx context.Context, d time.Duration) int {
	n := 0
	if d <= 0 {
		<-ctx.Done()
		return 0
	}
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return n
		case <-t.C:
		}
		for _, a := range f.http {
			resp, err := http.Get("http://" + a + "/metrics")
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				n++
			}
		}
	}
}

func (f *fleet) stop() {
	for _, p := range f.procs {
		p.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range f.procs {
		p.Wait()
	}
}

// waitServers waits until n asynq servers have registered.
func waitServers(ctx context.Context, rdb *redis.Client, n int) error {
	for i := 0; ; i++ {
		got, err := rdb.ZCard(ctx, "asynq:servers").Result()
		if err == nil && got >= int64(n) {
			return nil
		}
		if i == 600 {
			return fmt.Errorf("only %d of %d workers registered after a minute", got, n)
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return errors.New("interrupted")
	}
}

// prefixWriter prefixes each line a worker logs.
type prefixWriter struct {
	w      io.Writer
	prefix string
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		fmt.Fprintln(p.w, p.prefix+sc.Text())
	}
	return len(b), nil
}
