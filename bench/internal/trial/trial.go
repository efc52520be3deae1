package trial

import (
	"context"
	"fmt"
	"io"
	"syscall"
	"time"

	"bitqueue/bench/internal/fleet"
	"bitqueue/bench/internal/measure"
	"bitqueue/bench/internal/redisstat"
	"bitqueue/bench/internal/track"
	"bitqueue/internal/base"
	"bitqueue/internal/input"
)

// Snapshot is a reading of the CPU time used so far and of Redis's
// command statistics; two of them bound a trial.
type Snapshot struct {
	CPU      measure.CPU
	Commands map[string]redisstat.CmdStat
}

// Snapshot reads the CPU time of Redis, of fleet f and of this process, and
// Redis's command statistics.
func (e *Env) Snapshot(ctx context.Context, f *fleet.Fleet) (Snapshot, error) {
	var s Snapshot
	var err error
	if s.CPU.Redis, err = redisstat.CPU(ctx, e.Admin); err != nil {
		return s, err
	}
	if s.CPU.Workers, err = f.CPU(); err != nil {
		return s, err
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return s, err
	}
	s.CPU.Bench = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	s.Commands, err = redisstat.CommandStats(ctx, e.Admin)
	return s, err
}

// Cost fills t's CPU time and Redis commands with what was spent between
// snapshots before and after.
func Cost(t *measure.Trial, before, after Snapshot) {
	t.CPU = after.CPU.Sub(before.CPU)
	t.Commands = redisstat.DiffCommands(before.Commands, after.Commands)
}

// Run enqueues n random integers (the first n of seed Env.Seed, as every
// trial and the peers' input file) in batches of batch through the producer's
// code path on queue, served by fleet f, and waits until every batch is done:
// its result stored, or for the empty handler its task deleted. Unless keep
// is set, the results are deleted afterwards.
func (e *Env) Run(ctx context.Context, kind, queue string, f *fleet.Fleet, n uint64, batch int, keep bool) (measure.Trial, *track.Followed, error) {
	id := e.NextRunID()
	batches := base.Batches(n, batch)
	signal, flags := track.ResultStored, "Kh"
	if measure.Ceiling(kind) {
		signal, flags = track.TaskDeleted, "Kg"
	}
	if err := e.Events.Set(ctx, flags); err != nil {
		return measure.Trial{}, nil, err
	}
	r := e.Tracker.Follow(id, batches, signal)
	defer e.Tracker.Forget(id)
	before, err := e.Snapshot(ctx, f)
	if err != nil {
		return measure.Trial{}, nil, err
	}
	if _, err := e.Producer(queue, batch).Enqueue(ctx, id, input.Random(e.Seed, n, e.Opts.Max), n); err != nil {
		return measure.Trial{}, nil, fmt.Errorf("enqueue run %s: %w", id, err)
	}
	if err := e.Wait(ctx, r, f); err != nil {
		return measure.Trial{}, nil, err
	}
	after, err := e.Snapshot(ctx, f)
	if err != nil {
		return measure.Trial{}, nil, err
	}
	t := Summarize(kind, f, n, batch, r)
	Cost(&t, before, after)
	if !measure.Ceiling(kind) && !keep {
		e.DeleteResults(ctx, id, batches)
	}
	fmt.Fprintf(e.Log, "  %-15s W=%d B=%-6d %9d ints in %8s: %6.2f M ints/s, %7.0f batches/s, p50 %s p99 %s\n",
		kind, t.Workers, batch, n, t.Wall.Round(time.Millisecond), t.IntsPerSec()/1e6, t.BatchesPerSec(),
		t.P50.Round(100*time.Microsecond), t.P99.Round(100*time.Microsecond))
	return t, r, nil
}

// Summarize is the trial of kind that run r was, on fleet f: its wall time,
// enqueue span and batch latencies.
func Summarize(kind string, f *fleet.Fleet, n uint64, batch int, r *track.Followed) measure.Trial {
	first, lastEnq, last := r.Span()
	lat := r.Latencies()
	return measure.Trial{
		Kind: kind, Workers: len(f.Procs), Batch: batch, Ints: n, Batches: len(r.Done),
		Wall: last.Sub(first), Enqueue: lastEnq.Sub(first),
		P50: measure.Percentile(lat, 50), P99: measure.Percentile(lat, 99), Max: measure.Percentile(lat, 100),
	}
}

// Wait waits until every batch of r is done; it fails when a process of f
// exits, the tracker stops, or Opts.TrialTimeout passes.
func (e *Env) Wait(ctx context.Context, r *track.Followed, f *fleet.Fleet) error {
	deadline := time.Now().Add(e.Opts.TrialTimeout)
	for {
		err := r.Wait(ctx, time.Second)
		if err == nil || ctx.Err() != nil {
			return err
		}
		if aerr := f.Alive(); aerr != nil {
			return aerr
		}
		if terr := e.Tracker.Err(); terr != nil {
			return fmt.Errorf("keyspace events: %w", terr)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("run %s: %d of %d batches not done after %s", r.ID, r.Remaining(), len(r.Done), e.Opts.TrialTimeout)
		}
	}
}

// WaitOne waits until batch seq of r is done.
func (e *Env) WaitOne(ctx context.Context, r *track.Followed, seq int, f *fleet.Fleet) error {
	deadline := time.Now().Add(e.Opts.TrialTimeout)
	for !e.Tracker.Done(r, seq) {
		if err := f.Alive(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("run %s: batch %d not done after %s", r.ID, seq, e.Opts.TrialTimeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	return nil
}

// DeleteResults deletes the results of the first batches batches of run
// runID.
func (e *Env) DeleteResults(ctx context.Context, runID string, batches int) {
	for start := 0; start < batches; start += 1000 {
		keys := make([]string, 0, 1000)
		for seq := start; seq < min(start+1000, batches); seq++ {
			keys = append(keys, base.ResultKey(e.Prefix, runID, uint64(seq)))
		}
		e.Admin.Unlink(ctx, keys...)
	}
}

// WarmUp runs a short unrecorded trial on each fleet, so that connection
// pools are full and scripts loaded before anything is measured.
func (e *Env) WarmUp(ctx context.Context, qb string, fb *fleet.Fleet, qe string, fe *fleet.Fleet, batch int) error {
	n := min(e.Opts.Count, uint64(max(100*batch, 100_000)))
	if _, _, err := e.runQuiet(ctx, measure.KindBits, qb, fb, n, batch); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	if _, _, err := e.runQuiet(ctx, measure.KindEmpty, qe, fe, n, batch); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	return nil
}

// WarmUpOne runs a short unrecorded trial of kind on fleet f.
func (e *Env) WarmUpOne(ctx context.Context, kind, queue string, f *fleet.Fleet, batch int) error {
	n := min(e.Opts.Count, uint64(max(100*batch, 100_000)))
	if _, _, err := e.runQuiet(ctx, kind, queue, f, n, batch); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	return nil
}

func (e *Env) runQuiet(ctx context.Context, kind, queue string, f *fleet.Fleet, n uint64, batch int) (measure.Trial, *track.Followed, error) {
	log := e.Log
	e.Log = io.Discard
	defer func() { e.Log = log }()
	return e.Run(ctx, kind, queue, f, n, batch, false)
}
