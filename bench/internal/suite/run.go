// Package suite runs the whole benchmark: the main configuration against its
// empty-handler ceiling and a bare asynq.Server's, the idle fleet (what idle
// workers cost a Redis of their own, and how soon they pick work up), the peers
// (Celery and a Python process pool) on the same integers, the anti-pattern,
// the producer on a file and its peak memory, the workers behind a latency
// proxy, the workers' CPU profiles at two batch sizes, the startup hook's
// cache against math/bits, and the sweep (with Celery at each of its
// cells), in one Redis, and gathers what they measured into a report.
package suite

import (
	"context"
	"fmt"
	"time"

	"bitqueue/bench/internal/config"
	"bitqueue/bench/internal/host"
	"bitqueue/bench/internal/report"
	"bitqueue/bench/internal/trial"
)

// Run runs the benchmark that opts describe.
func Run(ctx context.Context, opts config.Options) (*report.Report, error) {
	rep := &report.Report{Started: time.Now(), Opts: opts, Machine: host.Read()}
	e, err := trial.Open(ctx, opts)
	if err != nil {
		return nil, err
	}
	defer e.Close()
	rep.Redis = e.Redis

	switch opts.Only {
	case config.OnlyIdle:
		if rep.IdleFleet, err = idleFleet(ctx, e); err != nil {
			return nil, fmt.Errorf("idle fleet: %w", err)
		}
	case config.OnlyLatency:
		if rep.Latency, err = latency(ctx, e); err != nil {
			return nil, fmt.Errorf("latency: %w", err)
		}
	}
	if opts.Only != "" {
		rep.Took = time.Since(rep.Started)
		return rep, nil
	}
	if err := mainCell(ctx, e, rep); err != nil {
		return nil, err
	}
	if opts.IdleWorkers > 0 {
		if rep.IdleFleet, err = idleFleet(ctx, e); err != nil {
			return nil, fmt.Errorf("idle fleet: %w", err)
		}
	}
	var in *peerInput
	if opts.Peers {
		if in, err = newPeerInput(e); err != nil {
			return nil, fmt.Errorf("the peers' input: %w", err)
		}
		defer in.Close()
		if err := peerCells(ctx, e, in, rep); err != nil {
			return nil, err
		}
	} else {
		rep.PeersSkipped = "not run: the benchmark ran with --peers=false"
	}
	if opts.ShippedCount > 0 {
		t, err := shipped(ctx, e)
		if err != nil {
			return nil, fmt.Errorf("anti-pattern baseline: %w", err)
		}
		rep.Shipped = &t
	}
	if opts.FileCount > 0 {
		d, cpu, err := producerFile(ctx, e)
		if err != nil {
			return nil, fmt.Errorf("producer from a file: %w", err)
		}
		rep.Producer, rep.ProducerCPU = d, cpu
	}
	if opts.Cluster {
		if err := clusterCell(ctx, e, rep); err != nil {
			return nil, fmt.Errorf("cluster: %w", err)
		}
	}
	if len(opts.Latency) > 0 {
		if rep.Latency, err = latency(ctx, e); err != nil {
			return nil, fmt.Errorf("latency: %w", err)
		}
	}
	if opts.ProducerMemory {
		if err := producerMemory(ctx, e, rep); err != nil {
			return nil, fmt.Errorf("producer memory: %w", err)
		}
	}
	if opts.Profile {
		profile(ctx, e, rep)
		if rep.Hook, err = hook(ctx, e); err != nil {
			return nil, fmt.Errorf("hook: %w", err)
		}
	}
	if opts.Sweep {
		for _, w := range opts.SweepWorkers {
			cells, err := sweepWorkers(ctx, e, w)
			if err != nil {
				return nil, fmt.Errorf("sweep W=%d: %w", w, err)
			}
			rep.Sweep = append(rep.Sweep, cells...)
		}
		if in != nil && opts.SweepPeers {
			if err := sweepPeers(ctx, e, in, rep); err != nil {
				return nil, err
			}
		}
	}
	rep.Took = time.Since(rep.Started)
	return rep, nil
}
