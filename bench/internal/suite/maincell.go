package suite

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"time"

	"github.com/redis/go-redis/v9"

	"bitqueue/bench/internal/fleet"
	"bitqueue/bench/internal/measure"
	"bitqueue/bench/internal/redisstat"
	"bitqueue/bench/internal/report"
	"bitqueue/bench/internal/track"
	"bitqueue/bench/internal/trial"
	"bitqueue/internal/base"
	"bitqueue/internal/cache"
	"bitqueue/internal/input"
	"bitqueue/internal/rdb"
)

// mainCell measures the main configuration: R interleaved trials of the
// pipeline, of the ceiling and of a bare asynq.Server's ceiling, then memory, ready time, peak RSS and the
// idle-fleet latency.
func mainCell(ctx context.Context, e *trial.Env, rep *report.Report) error {
	o := e.Opts
	fmt.Fprintf(e.Log, "main: W=%d N=%d B=%d, %d repeats (pipeline, ceiling and bare asynq interleaved)\n", o.Workers, o.Count, o.BatchSize, o.Repeat)
	qb, err := e.Queue(ctx, "bits")
	if err != nil {
		return err
	}
	qe, err := e.Queue(ctx, "empty")
	if err != nil {
		return err
	}
	fb, err := e.StartFleet(ctx, measure.KindBits, qb, o.Workers, nil)
	if err != nil {
		return err
	}
	defer fb.Stop()
	fe, err := e.StartFleet(ctx, measure.KindEmpty, qe, o.Workers, nil)
	if err != nil {
		return err
	}
	defer fe.Stop()
	qa, err := e.Queue(ctx, "bare-empty")
	if err != nil {
		return err
	}
	fa, err := e.StartFleet(ctx, measure.KindBare, qa, o.Workers, nil)
	if err != nil {
		return err
	}
	defer fa.Stop()
	for _, p := range fb.Procs {
		rep.Ready = append(rep.Ready, p.Ready)
		rep.ReadyParts = append(rep.ReadyParts, [2]time.Duration{p.CacheBuild, p.Serve})
	}
	cs, err := cache.New(cache.DefaultBits)
	if err != nil {
		return err
	}
	rep.CacheBytes = cs.Stats().Bytes

	if err := e.WarmUp(ctx, qb, fb, qe, fe, o.BatchSize); err != nil {
		return err
	}
	if err := e.WarmUpOne(ctx, measure.KindBare, qa, fa, o.BatchSize); err != nil {
		return err
	}
	rep.Main = measure.Cell{Workers: o.Workers, Batch: o.BatchSize}
	for i := range o.Repeat {
		t, r, err := e.Run(ctx, measure.KindBits, qb, fb, o.Count, o.BatchSize, i == 0)
		if err != nil {
			return err
		}
		rep.Main.Bits = append(rep.Main.Bits, t)
		if i == 0 {
			if rep.Memory, err = memory(ctx, e, r, o.Count); err != nil {
				return err
			}
		}
		t, _, err = e.Run(ctx, measure.KindEmpty, qe, fe, o.Count, o.BatchSize, false)
		if err != nil {
			return err
		}
		rep.Main.Empty = append(rep.Main.Empty, t)
		if t, _, err = e.Run(ctx, measure.KindBare, qa, fa, o.Count, o.BatchSize, false); err != nil {
			return err
		}
		rep.Main.Bare = append(rep.Main.Bare, t)
	}
	fa.Stop()

	if o.IdleSamples > 0 {
		fmt.Fprintf(e.Log, "one at a time: %d batches of %d to the main fleet\n", o.IdleSamples, o.BatchSize)
		if rep.Idle, err = idle(ctx, e, qb, fb); err != nil {
			return err
		}
		fmt.Fprintf(e.Log, "  enqueue → result seen: p50 %s, p99 %s, max %s\n",
			measure.Percentile(rep.Idle, 50).Round(100*time.Microsecond), measure.Percentile(rep.Idle, 99).Round(100*time.Microsecond), measure.Percentile(rep.Idle, 100).Round(100*time.Microsecond))
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

// memory measures what the results of run r cost Redis, MEMORY USAGE of
// sample keys against their bits fields, and then what deleting every
// result of r and its done marks frees: used_memory before less after,
// the clients' buffers apart. Measured so, the figure holds the keys, their
// expiry and the key space's entries, and none of the connections' buffers,
// which come and go with the workers' loops whatever the results hold.
func memory(ctx context.Context, e *trial.Env, r *track.Followed, n uint64) (measure.Memory, error) {
	time.Sleep(100 * time.Millisecond) // let the fleet's last replies and events drain
	m := measure.Memory{Ints: n, Keys: len(r.Done)}
	keys := make([]string, len(r.Done))
	for seq := range keys {
		keys[seq] = base.ResultKey(e.Prefix, r.ID, uint64(seq))
	}
	lens := make([]*redis.IntCmd, len(keys))
	if _, err := e.Admin.Pipelined(ctx, func(p redis.Pipeliner) error {
		for seq, key := range keys {
			lens[seq] = p.HStrLen(ctx, key, base.FieldBits)
		}
		return nil
	}); err != nil {
		return m, err
	}
	for _, c := range lens {
		m.PackedBits += c.Val()
	}
	const samples = 50
	for i := range min(samples, len(keys)) {
		at := i * len(keys) / min(samples, len(keys))
		use, err := e.Admin.MemoryUsage(ctx, keys[at], 0).Result()
		if err != nil {
			return m, fmt.Errorf("MEMORY USAGE %s: %w", keys[at], err)
		}
		m.SampleKeys++
		m.SampleUse += float64(use)
		m.SampleBits += float64(lens[at].Val())
	}
	m.SampleUse /= float64(m.SampleKeys)
	m.SampleBits /= float64(m.SampleKeys)

	before, err := redisstat.UsedMemory(ctx, e.Admin)
	if err != nil {
		return m, err
	}
	// DEL, not UNLINK: the memory is free when it returns.
	if _, err := rdb.New(e.Admin, e.Prefix).DeleteRun(ctx, r.ID, len(keys)); err != nil {
		return m, err
	}
	after, err := redisstat.UsedMemory(ctx, e.Admin)
	if err != nil {
		return m, err
	}
	m.Freed = (before.Used - before.Clients) - (after.Used - after.Clients)
	m.Clients = before.Clients
	return m, nil
}

// idle enqueues one batch at a time on an idle fleet and returns each one's
// enqueue → result-seen latency. Batches start at random offsets so that they
// do not fall in step with the workers' polling.
func idle(ctx context.Context, e *trial.Env, queue string, f *fleet.Fleet) ([]time.Duration, error) {
	var out []time.Duration
	p := e.Producer(queue, e.Opts.BatchSize)
	if err := e.Events.Set(ctx, "Kh"); err != nil {
		return nil, err
	}
	for i := range e.Opts.IdleSamples {
		time.Sleep(mrand.N(50 * time.Millisecond))
		id := e.NextRunID()
		r := e.Tracker.Follow(id, 1, track.ResultStored)
		n := uint64(e.Opts.BatchSize)
		if _, err := p.Enqueue(ctx, id, input.Random(uint64(i), n, e.Opts.Max), n); err != nil {
			return nil, err
		}
		if err := e.Wait(ctx, r, f); err != nil {
			return nil, err
		}
		out = append(out, r.Latencies()...)
		e.Tracker.Forget(id)
		e.DeleteResults(ctx, id, 1)
	}
	return out, nil
}
