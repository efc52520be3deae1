package suite

import (
	"bitqueue/internal/base"
	"bitqueue/internal/rdb"
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"bitqueue/bench/internal/config"
	"bitqueue/bench/internal/fleet"
	"bitqueue/bench/internal/host"
	"bitqueue/bench/internal/measure"
	"bitqueue/bench/internal/redisstat"
	"bitqueue/bench/internal/report"
	"bitqueue/bench/internal/track"
	"bitqueue/bench/internal/trial"
	"bitqueue/internal/input"
	"bitqueue/internal/tasks"
	"bitqueue/internal/worker"
	"bitqueue/redistest"
)

// How long the idle measurement lets things be: Redis's own CPU is read
// over idleBaseline with no client, before and after the fleet; the fleet
// idles for idleSettle before its window.
const (
	idleBaseline = 10 * time.Second
	idleSettle   = 15 * time.Second
)

// idleFleet measures what an idle fleet of Opts.IdleWorkers production
// workers (default flags, besides the benchmark's own) costs a redis-server
// started for it alone, then the fleet's pickup latency through the
// producer's code path, and a lone idle worker's without a wake-up.
func idleFleet(ctx context.Context, e *trial.Env) (*report.IdleFleet, error) {
	o := e.Opts
	srv, err := redistest.NewServer(redistest.Options{Binary: o.RedisServer})
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	m, err := newIdleMeter(ctx, e, srv)
	if err != nil {
		return nil, err
	}
	defer m.close()
	r := m.r
	fmt.Fprintf(e.Log, "idle fleet: %d workers on a redis-server of their own (%s), baseline %s, settle %s, window %s\n",
		o.IdleWorkers, srv.Addr, idleBaseline, idleSettle, o.IdleWindow)

	if r.BaselineBefore, err = m.baseline(ctx); err != nil {
		return nil, err
	}
	f, err := e.StartFleetAt(ctx, m.url, measure.KindBits, m.queue, o.IdleWorkers, nil)
	if err != nil {
		return nil, err
	}
	defer f.Stop()
	if err := sleep(ctx, idleSettle); err != nil {
		return nil, err
	}
	if err := m.window(ctx, f); err != nil {
		return nil, err
	}
	if o.IdleAdded > 0 {
		if err := m.added(ctx); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(e.Log, "  Redis CPU per idle worker: %.1f µs/s (%.4f %% of a core), %.2f commands/s; %.1f µs/s against the baseline\n",
		1e6*r.PerWorker(), 100*r.PerWorker(), r.Calls(), 1e6*r.PerWorkerOverBaseline())

	p := m.producer()
	r.ProbeLoad[0] = host.LoadAvg()
	for i := range o.IdleProbes {
		if i > 0 {
			if err := sleep(ctx, m.gap()); err != nil {
				return nil, err
			}
		}
		d, err := m.probe(ctx, f, func(id string) error {
			_, err := p.Enqueue(ctx, id, input.Random(e.Seed+uint64(i), uint64(r.Batch), o.Max), uint64(r.Batch))
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("idle fleet probe %d: %w", i, err)
		}
		r.Probes = append(r.Probes, d)
	}
	r.ProbeLoad[1] = host.LoadAvg()
	if len(r.Probes) > 0 {
		fmt.Fprintf(e.Log, "  pickup, %d probes: p50 %s, p99 %s, max %s (load %s → %s)\n", len(r.Probes),
			measure.Percentile(r.Probes, 50).Round(100*time.Microsecond), measure.Percentile(r.Probes, 99).Round(100*time.Microsecond),
			measure.Percentile(r.Probes, 100).Round(100*time.Microsecond), r.ProbeLoad[0], r.ProbeLoad[1])
	}
	f.Stop()
	if r.BaselineAfter, err = m.baseline(ctx); err != nil {
		return nil, err
	}
	if o.LoneProbes > 0 {
		if err := m.lone(ctx); err != nil {
			return nil, fmt.Errorf("lone idle worker: %w", err)
		}
		fmt.Fprintf(e.Log, "  lone worker, no wake-up, %d probes: max %s (bound %s)\n", len(r.Lone),
			measure.Percentile(r.Lone, 100).Round(time.Millisecond), r.LoneBound)
	}
	return r, nil
}

// idlePlan is the idle measurement as opts ask for it, with the workers'
// pacing: opts' --poll-interval or the worker's default, and the worker's
// busy poll interval and IdleAfter.
func idlePlan(o config.Options) *report.IdleFleet {
	pi := o.PollInterval
	if pi <= 0 {
		pi = worker.DefaultPollInterval
	}
	busy := min(worker.DefaultBusyPollInterval, pi)
	after := worker.DefaultIdleAfter
	return &report.IdleFleet{
		Workers: o.IdleWorkers, PollInterval: pi, BusyPollInterval: busy, IdleAfter: after,
		Settle: idleSettle, Window: o.IdleWindow, Baseline: idleBaseline, Batch: o.BatchSize,
		// Long enough after the last result that every worker is idle
		// again, and random, so that probes do not fall in step with the
		// polls.
		ProbeGap: [2]time.Duration{after + after/4, 2*after + after/4},
		// An idle worker's wait before a poll is at most 1.5 × the poll
		// interval; a batch that arrives just after a poll found nothing
		// also waits for asynq's sleep, at most 1.5 × the busy interval.
		LoneBound: pi*3/2 + busy*3/2,
	}
}

// idleMeter is the idle measurement's Redis, clients and results.
type idleMeter struct {
	e       *trial.Env
	queue   string
	url     string // of the idle fleet's redis-server
	admin   *redis.Client
	prod    *redis.Client // the producer's, hooked by the tracker
	tracker *track.Tracker
	events  *track.Events
	r       *report.IdleFleet
}

func newIdleMeter(ctx context.Context, e *trial.Env, srv *redistest.Server) (*idleMeter, error) {
	m := &idleMeter{e: e, queue: e.ID + "-idle", url: srv.URL(), admin: srv.Client(), r: idlePlan(e.Opts)}
	var err error
	if m.events, err = track.NewEvents(ctx, m.admin); err != nil {
		m.close()
		return nil, err
	}
	if err := m.events.Set(ctx, "Kh"); err != nil {
		m.close()
		return nil, err
	}
	if m.tracker, err = track.NewTracker(ctx, m.admin, 0, e.Prefix); err != nil {
		m.close()
		return nil, err
	}
	m.prod = srv.Client()
	m.prod.AddHook(m.tracker.Hook())
	return m, nil
}

func (m *idleMeter) close() {
	if m.tracker != nil {
		m.tracker.Close()
	}
	if m.prod != nil {
		m.prod.Close()
	}
	m.admin.Close()
}

// baseline returns Redis's own CPU over idleBaseline, in seconds per second.
func (m *idleMeter) baseline(ctx context.Context) (float64, error) {
	cpu, err := m.cpuOver(ctx, idleBaseline)
	return cpu.Seconds() / idleBaseline.Seconds(), err
}

// cpuOver returns the CPU Redis spends over the next d.
func (m *idleMeter) cpuOver(ctx context.Context, d time.Duration) (time.Duration, error) {
	c0, err := redisstat.CPU(ctx, m.admin)
	if err != nil {
		return 0, err
	}
	if err := sleep(ctx, d); err != nil {
		return 0, err
	}
	c1, err := redisstat.CPU(ctx, m.admin)
	if err != nil {
		return 0, err
	}
	return c1 - c0, nil
}

// window reads Redis's CPU and commands and the fleet's CPU over the window.
func (m *idleMeter) window(ctx context.Context, f *fleet.Fleet) error {
	s0, err := redisstat.CommandStats(ctx, m.admin)
	if err != nil {
		return err
	}
	c0, err := redisstat.CPU(ctx, m.admin)
	if err != nil {
		return err
	}
	w0, err := f.CPU()
	if err != nil {
		return err
	}
	if err := sleep(ctx, m.r.Window); err != nil {
		return err
	}
	c1, err := redisstat.CPU(ctx, m.admin)
	if err != nil {
		return err
	}
	w1, err := f.CPU()
	if err != nil {
		return err
	}
	s1, err := redisstat.CommandStats(ctx, m.admin)
	if err != nil {
		return err
	}
	if err := f.Alive(); err != nil {
		return err
	}
	clients, err := redisstat.Info(ctx, m.admin, "clients")
	if err != nil {
		return err
	}
	m.r.CPU, m.r.WorkerCPU, m.r.Clients = c1-c0, w1-w0, clients["connected_clients"]
	m.r.Commands = redisstat.DiffCommands(s0, s1)
	// The benchmark's own readings are not the fleet's.
	for k := range m.r.Commands {
		if k == "info" || strings.HasPrefix(k, "config|") {
			delete(m.r.Commands, k)
		}
	}
	return nil
}

// added starts Opts.IdleAdded more workers beside the fleet, lets them
// settle, reads Redis's CPU over a second window, and stops them.
func (m *idleMeter) added(ctx context.Context) error {
	f, err := m.e.StartFleetAt(ctx, m.url, measure.KindBits, m.queue, m.e.Opts.IdleAdded, nil)
	if err != nil {
		return err
	}
	defer f.Stop()
	if err := sleep(ctx, m.r.Settle); err != nil {
		return err
	}
	cpu, err := m.cpuOver(ctx, m.r.Window)
	if err != nil {
		return err
	}
	if err := f.Alive(); err != nil {
		return err
	}
	m.r.Added, m.r.AddedCPU = m.e.Opts.IdleAdded, cpu
	return nil
}

// producer is the producer's code path on the idle fleet's queue: a run of
// one batch, enqueued and announced with the wake-up a producer sends.
func (m *idleMeter) producer() trial.Producer {
	return trial.NewProducer(rdb.New(m.prod, m.e.Prefix), m.queue, 1, m.r.Batch, 1)
}

// gap is a random wait between two probes, in [ProbeGap[0], ProbeGap[1]).
func (m *idleMeter) gap() time.Duration {
	g := m.r.ProbeGap
	return g[0] + rand.N(g[1]-g[0])
}

// probe sends one batch of a new run with enqueue and returns its latency:
// the enqueue script sent → the result's write seen.
func (m *idleMeter) probe(ctx context.Context, f *fleet.Fleet, enqueue func(id string) error) (time.Duration, error) {
	id := m.e.NextRunID()
	fr := m.tracker.Follow(id, 1, track.ResultStored)
	defer m.tracker.Forget(id)
	if err := enqueue(id); err != nil {
		return 0, err
	}
	if err := fr.Wait(ctx, m.e.Opts.TrialTimeout); err != nil {
		if aerr := f.Alive(); aerr != nil {
			return 0, aerr
		}
		return 0, err
	}
	lat := fr.Latencies()
	if len(lat) != 1 {
		return 0, fmt.Errorf("run %s: the enqueue of its batch was not seen", id)
	}
	return lat[0], nil
}

// lone starts one worker and, once it idles, sends LoneProbes batches the
// way a plain asynq client does: enqueued, no wake-up.
func (m *idleMeter) lone(ctx context.Context) error {
	o := m.e.Opts
	f, err := m.e.StartFleetAt(ctx, m.url, measure.KindBits, m.queue, 1, nil)
	if err != nil {
		return err
	}
	defer f.Stop()
	client := asynq.NewClientFromRedisClient(m.prod)
	if err := sleep(ctx, m.gap()); err != nil {
		return err
	}
	for i := range o.LoneProbes {
		if i > 0 {
			if err := sleep(ctx, m.gap()); err != nil {
				return err
			}
		}
		d, err := m.probe(ctx, f, func(id string) error {
			nums := make([]uint64, m.r.Batch)
			for j := range nums {
				nums[j] = rand.N(o.Max)
			}
			t, err := tasks.NewBitsTask(base.Batch{RunID: id, Seq: 0, Nums: nums}, asynq.Queue(m.queue))
			if err != nil {
				return err
			}
			_, err = client.EnqueueContext(ctx, t)
			return err
		})
		if err != nil {
			return err
		}
		m.r.Lone = append(m.r.Lone, d)
	}
	return nil
}

// sleep waits d, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
