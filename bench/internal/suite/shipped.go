package suite

import (
	"bitqueue/internal/base"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"

	"bitqueue/bench/internal/baseline"
	"bitqueue/bench/internal/measure"
	"bitqueue/bench/internal/track"
	"bitqueue/bench/internal/trial"
	"bitqueue/internal/cache"
	"bitqueue/internal/input"
)

// shipped runs the anti-pattern: a fleet whose handler gets the cache inside
// every task instead of building it once.
func shipped(ctx context.Context, e *trial.Env) (measure.Trial, error) {
	o := e.Opts
	fmt.Fprintf(e.Log, "anti-pattern: the %d-byte cache shipped in every task, N=%d\n", 8<<cache.DefaultBits, o.ShippedCount)
	q, err := e.Queue(ctx, "shipped")
	if err != nil {
		return measure.Trial{}, err
	}
	f, err := e.StartFleet(ctx, measure.KindShipped, q, o.Workers, nil)
	if err != nil {
		return measure.Trial{}, err
	}
	defer f.Stop()
	if err := e.Events.Set(ctx, "Kh"); err != nil {
		return measure.Trial{}, err
	}
	table := baseline.CacheTable(cache.DefaultBits)
	id := e.NextRunID()
	batches := base.Batches(o.ShippedCount, o.BatchSize)
	r := e.Tracker.Follow(id, batches, track.ResultStored)
	defer e.Tracker.Forget(id)
	before, err := e.Snapshot(ctx, f)
	if err != nil {
		return measure.Trial{}, err
	}
	// Like a process pool's map: at most two batches wait in the queue per
	// worker process, so Redis holds a bounded number of copies.
	src, err := input.Random(base.SeedFor(id), o.ShippedCount, o.Max).Open()
	if err != nil {
		return measure.Trial{}, err
	}
	window := 2 * o.Workers
	for seq := range batches {
		nums := make([]uint64, 0, o.BatchSize)
		for range min(o.BatchSize, int(o.ShippedCount)-seq*o.BatchSize) {
			n, err := src.Next()
			if err != nil {
				return measure.Trial{}, err
			}
			nums = append(nums, n)
		}
		payload, err := base.EncodeBatch(base.Batch{RunID: id, Seq: uint64(seq), Nums: nums})
		if err != nil {
			return measure.Trial{}, err
		}
		if seq >= window {
			if err := e.WaitOne(ctx, r, seq-window, f); err != nil {
				return measure.Trial{}, err
			}
		}
		task := asynq.NewTask(baseline.TypeShipped, baseline.EncodeShipped(table, payload), asynq.TaskID(base.TaskID(id, uint64(seq))), asynq.Queue(q), asynq.MaxRetry(0))
		// The queue and the run id are this run's own, so a conflict is this
		// very enqueue having gone through before go-redis retried it (an
		// 8 MiB command can outlast the client's timeout on a busy
		// machine), as the producer also counts it.
		if _, err := e.Client.EnqueueContext(ctx, task); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
			return measure.Trial{}, fmt.Errorf("enqueue batch %d of run %s: %w", seq, id, err)
		}
	}
	if err := e.Wait(ctx, r, f); err != nil {
		return measure.Trial{}, err
	}
	after, err := e.Snapshot(ctx, f)
	if err != nil {
		return measure.Trial{}, err
	}
	t := trial.Summarize(measure.KindShipped, f, o.ShippedCount, o.BatchSize, r)
	trial.Cost(&t, before, after)
	e.DeleteResults(ctx, id, batches)
	fmt.Fprintf(e.Log, "  %-15s W=%d B=%-6d %9d ints in %8s: %6.3f M ints/s, %7.1f batches/s, p50 %s p99 %s\n",
		measure.KindShipped, t.Workers, t.Batch, t.Ints, t.Wall.Round(time.Millisecond), t.IntsPerSec()/1e6, t.BatchesPerSec(),
		t.P50.Round(time.Millisecond), t.P99.Round(time.Millisecond))
	return t, nil
}
