package suite

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"bitqueue/bench/internal/measure"
	"bitqueue/bench/internal/report"
	"bitqueue/bench/internal/trial"
	"bitqueue/redistest"
)

// latencyPings is how many PINGs, through the proxy and straight to Redis,
// measure each added round-trip time.
const latencyPings = 200

// latency runs the scenario of a fleet across hosts: for each worker shape
// (each of Opts.LatencyLoops × each of Opts.LatencyConcurrency), W workers
// reaching Redis through a latency proxy (the producer and the watcher
// connect directly), and at each added round-trip time, the proxy alone (0)
// first, Opts.LatencyRepeat pipeline trials of Opts.LatencyCount integers
// in batches of the main B. One fleet and proxy per shape; the round-trip
// times interleave within it. The reference is the first loops of the list
// (the worker's default) at the worker's concurrency.
func latency(ctx context.Context, e *trial.Env) (*report.Latency, error) {
	o := e.Opts
	ref := report.Shape{Loops: o.LatencyLoops[0], Concurrency: o.WorkerConcurrency}
	if ref.Concurrency == 0 {
		ref.Concurrency = o.LatencyConcurrency[0]
	}
	concs := slices.Clone(o.LatencyConcurrency)
	if !slices.Contains(concs, ref.Concurrency) {
		concs = append(concs, ref.Concurrency)
	}
	slices.Sort(concs)
	concs = slices.Compact(concs)
	loops := slices.Clone(o.LatencyLoops)
	slices.Sort(loops)
	loops = slices.Compact(loops)
	var shapes []report.Shape
	for _, l := range loops {
		for _, c := range concs {
			shapes = append(shapes, report.Shape{Loops: l, Concurrency: c})
		}
	}
	rtts := []time.Duration{0}
	for _, r := range o.Latency {
		if !slices.Contains(rtts, r) {
			rtts = append(rtts, r)
		}
	}
	n := min(o.Count, o.LatencyCount)
	base, err := redis.ParseURL(e.URL)
	if err != nil {
		return nil, err
	}
	l := &report.Latency{Workers: o.Workers, Batch: o.BatchSize, Ints: n, Repeat: o.LatencyRepeat, Reference: ref, Pings: latencyPings}
	fmt.Fprintf(e.Log, "latency: W=%d N=%d B=%d through a latency proxy, added RTT %v, --loops %v × --concurrency %v\n", o.Workers, n, o.BatchSize, rtts, loops, concs)
	for _, rtt := range rtts {
		m, err := addedRTT(ctx, base, rtt)
		if err != nil {
			return nil, fmt.Errorf("added RTT %s: %w", rtt, err)
		}
		l.Added = append(l.Added, report.AddedRTT{Nominal: rtt, Measured: m})
		fmt.Fprintf(e.Log, "  added RTT %s: measured %s\n", rtt, m.Round(10*time.Microsecond))
	}
	for _, s := range shapes {
		cells, err := latencyFleet(ctx, e, base, s, rtts, n)
		if err != nil {
			return nil, fmt.Errorf("--loops %d --concurrency %d: %w", s.Loops, s.Concurrency, err)
		}
		l.Cells = append(l.Cells, cells...)
	}
	return l, nil
}

// latencyFleet measures one worker shape at every added round-trip time
// rtts, on a fleet of its own behind a proxy of its own.
func latencyFleet(ctx context.Context, e *trial.Env, base *redis.Options, shape report.Shape, rtts []time.Duration, n uint64) ([]report.LatencyCell, error) {
	o := e.Opts
	p, err := redistest.NewLatencyProxy(base.Addr, 0)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	u, err := url.Parse(e.URL)
	if err != nil {
		return nil, err
	}
	u.Host = p.Addr()
	q, err := e.Queue(ctx, fmt.Sprintf("latency%dx%d-bits", shape.Loops, shape.Concurrency))
	if err != nil {
		return nil, err
	}
	// The last --loops and --concurrency given win over those of
	// workerArgs and --worker-flag.
	f, err := e.StartFleetAt(ctx, u.String(), measure.KindBits, q, o.Workers, func(int) []string {
		return []string{"--loops", strconv.Itoa(shape.Loops), "--concurrency", strconv.Itoa(shape.Concurrency)}
	})
	if err != nil {
		return nil, err
	}
	defer f.Stop()
	// Warm up at the largest round-trip time, so that the pools have grown
	// to what any cell needs before one is measured.
	p.SetLatency(slices.Max(rtts))
	if err := e.WarmUpOne(ctx, measure.KindBits, q, f, o.BatchSize); err != nil {
		return nil, err
	}
	cells := make([]report.LatencyCell, len(rtts))
	for r := range o.LatencyRepeat {
		for i, rtt := range rtts {
			p.SetLatency(rtt)
			fmt.Fprintf(e.Log, "  added RTT %s, %s, trial %d:\n", rtt, shape, r+1)
			t, _, err := e.Run(ctx, measure.KindBits, q, f, n, o.BatchSize, false)
			if err != nil {
				return nil, err
			}
			cells[i].Trials = append(cells[i].Trials, t)
		}
	}
	peak := p.Peak()
	for i, rtt := range rtts {
		cells[i].RTT, cells[i].Shape, cells[i].PeakConns = rtt, shape, peak
	}
	return cells, nil
}

// addedRTT measures what a latency proxy adding rtt adds to a round trip:
// the median of latencyPings PINGs through it less the median of as many
// straight to the Redis of base, alternating.
func addedRTT(ctx context.Context, base *redis.Options, rtt time.Duration) (time.Duration, error) {
	p, err := redistest.NewLatencyProxy(base.Addr, rtt)
	if err != nil {
		return 0, err
	}
	defer p.Close()
	client := func(addr string) *redis.Client {
		opt := *base
		opt.Addr, opt.PoolSize = addr, 1
		return redis.NewClient(&opt)
	}
	via, direct := client(p.Addr()), client(base.Addr)
	defer via.Close()
	defer direct.Close()
	var tv, td []time.Duration
	for i := range latencyPings + 1 {
		for _, c := range []*redis.Client{via, direct} {
			start := time.Now()
			if err := c.Ping(ctx).Err(); err != nil {
				return 0, err
			}
			if i == 0 {
				continue // the first dials
			}
			if c == via {
				tv = append(tv, time.Since(start))
			} else {
				td = append(td, time.Since(start))
			}
		}
	}
	return measure.MedianDuration(tv) - measure.MedianDuration(td), nil
}
