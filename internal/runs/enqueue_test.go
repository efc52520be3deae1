package runs_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/base"
	"bitqueue/internal/input"
	"bitqueue/internal/runs"
)

// TestEnqueueSkipsDoneBatches checks what a re-run of a run reads before
// each chunk: batches done (their result exists) are not enqueued again, a
// batch holding a result without its mark (a worker that failed between the
// two writes) is not either, and gets its mark; a batch marked done whose
// result is gone (expired, deleted) is enqueued again, and its mark cleared.
func TestEnqueueSkipsDoneBatches(t *testing.T) {
	t.Parallel()
	e := newEnv(t, runs.Config{})
	e.batchSize = 10
	ctx := context.Background()
	src := input.Random(1, 100, 50)
	e.createRecord(t, "skip", src, 100) // a run begun earlier
	for seq := range uint64(5) {
		e.save(t, "skip", seq, seq)
	}
	require.NoError(t, e.r.Client.HSet(ctx, base.ResultKey(e.prefix, "skip", 7), "v", 1).Err())
	require.NoError(t, e.db.MarkDone(ctx, "skip", time.Hour, 8)) // its result gone
	_, st := e.enqueue(t, "skip", src, 100)
	require.Equal(t, runs.EnqueueStats{Batches: 10, Enqueued: 4, Done: 6}, st)
	bits, err := e.db.DoneBits(ctx, "skip")
	require.NoError(t, err)
	require.True(t, bits.Done(7), "batch 7 marked from its result")
	require.False(t, bits.Done(8), "batch 8's mark, without its result, cleared")
	info, err := e.db.Inspector().GetQueueInfo(e.queue)
	require.NoError(t, err)
	require.Equal(t, 4, info.Pending)
}

// TestEnqueueBindsTheRunID checks that a run's record is created once,
// bound to its fingerprint, with the run's settings: the same fingerprint
// again refreshes it, keeping its creation time, and enqueues nothing more;
// any other field refuses the run id naming the field and both values,
// writing nothing and enqueueing nothing; a tombstone refuses it whatever
// the fingerprint; a run id never enqueued is unknown.
func TestEnqueueBindsTheRunID(t *testing.T) {
	t.Parallel()
	e := newEnv(t, runs.Config{})
	e.batchSize = 10
	ctx := context.Background()
	src := input.Random(1, 95, 8)
	spec := e.spec("fp", src, 95)
	spec.Shards = 2
	rec, st, err := e.svc.Enqueue(ctx, spec)
	require.NoError(t, err)
	require.Equal(t, runs.EnqueueStats{Batches: 10, Enqueued: 10}, st)
	ids, err := e.r.Client.ZRangeWithScores(ctx, base.RunsKey(e.prefix), 0, -1).Result()
	require.NoError(t, err)
	require.Equal(t, []redis.Z{{Score: float64(rec.Created.UnixMilli()), Member: "fp"}}, ids, "index of runs")
	pending := func(t *testing.T) int {
		t.Helper()
		n := 0
		for _, q := range base.Queues(e.queue, 2) {
			info, err := e.db.Inspector().GetQueueInfo(q)
			require.NoError(t, err)
			n += info.Pending
		}
		return n
	}

	stored, err := e.svc.Load(ctx, "fp")
	require.NoError(t, err)
	require.Equal(t, []any{e.queue, 2, 10, uint64(95), 10, "random seed=1 max=8 count=95"},
		[]any{stored.Queue, stored.Shards, stored.Batches, stored.Integers, stored.BatchSize, stored.Input}, "the run's settings")
	require.WithinDuration(t, time.Now(), stored.Created, time.Minute)
	time.Sleep(time.Millisecond)
	_, st, err = e.svc.Enqueue(ctx, spec)
	require.NoError(t, err)
	require.Equal(t, runs.EnqueueStats{Batches: 10, Queued: 10}, st, "the same fingerprint again enqueues nothing")
	again, err := e.svc.Load(ctx, "fp")
	require.NoError(t, err)
	require.Equal(t, stored.Created, again.Created, "created kept")
	require.True(t, again.Updated.After(stored.Updated), "updated refreshed")

	for _, tc := range []struct {
		name, field, recorded, given string
		change                       func(*runs.Spec)
	}{
		{"other input", "input", "random seed=1 max=8 count=95", "random seed=2 max=8 count=95", func(s *runs.Spec) { s.Source = input.Random(2, 95, 8) }},
		{"other count", "input", "random seed=1 max=8 count=95", "random seed=1 max=8 count=96", func(s *runs.Spec) { s.Source, s.Integers = input.Random(1, 96, 8), 96 }},
		{"other batch size", "batch_size", "10", "5", func(s *runs.Spec) { s.BatchSize = 5 }},
		{"other shards", "shards", "2", "4", func(s *runs.Spec) { s.Shards = 4 }},
		{"other queue", "queue", e.queue, e.queue + "2", func(s *runs.Spec) { s.Queue += "2" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			other := spec
			tc.change(&other)
			_, _, err := e.svc.Enqueue(ctx, other)
			var mismatch *runs.MismatchError
			require.ErrorAs(t, err, &mismatch)
			require.Equal(t, runs.MismatchError{RunID: "fp", Field: tc.field, Recorded: tc.recorded, Given: tc.given}, *mismatch)
			require.ErrorContains(t, err, "fp")
			after, err := e.svc.Load(ctx, "fp")
			require.NoError(t, err)
			require.Equal(t, again, after, "record unchanged")
			require.Equal(t, 10, pending(t), "tasks after a refused re-run")
		})
	}

	require.NoError(t, e.db.Tombstone(ctx, "fp", time.Now(), time.Hour))
	_, _, err = e.svc.Enqueue(ctx, spec)
	var deleted *runs.DeletedError
	require.ErrorAs(t, err, &deleted)
	require.Equal(t, "fp", deleted.RunID)

	_, err = e.svc.Load(ctx, "no-such-run")
	require.True(t, errors.Is(err, runs.ErrUnknownRun), "error %v", err)
	require.ErrorContains(t, err, "no-such-run")
}

// TestEnqueueRefusesABadSpec: a run out of range is refused before Redis is
// contacted.
func TestEnqueueRefusesABadSpec(t *testing.T) {
	t.Parallel()
	s, err := runs.New(runs.Config{RDB: neverContacted(t)})
	require.NoError(t, err)
	valid := func() runs.Spec {
		return runs.Spec{RunID: "r", Queue: "q", BatchSize: 10, Source: input.Random(1, 5, 10), Integers: 5}
	}
	tests := []struct {
		name   string
		change func(*runs.Spec)
		want   string
	}{
		{"no queue", func(s *runs.Spec) { s.Queue = "" }, "Spec.Queue is empty"},
		{"batch size zero", func(s *runs.Spec) { s.BatchSize = 0 }, "Spec.BatchSize 0 out of range [1, 100000]"},
		{"too many shards", func(s *runs.Spec) { s.Shards = 257 }, "Spec.Shards 257 out of range [1, 256]"},
		{"negative shards", func(s *runs.Spec) { s.Shards = -1 }, "Spec.Shards -1 out of range"},
		{"a bad run id", func(s *runs.Spec) { s.RunID = "a b" }, "Spec.RunID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			spec := valid()
			tt.change(&spec)
			_, _, err := s.Enqueue(context.Background(), spec)
			require.ErrorContains(t, err, tt.want)
		})
	}
}

// TestFreshRecordClearsLeftovers reuses a run id whose record is gone while
// its results and done marks live: the new run deletes them first and
// enqueues every batch, so that none of the earlier input's results is
// adopted.
func TestFreshRecordClearsLeftovers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, runs.Config{})
	ctx := context.Background()
	_, st := e.enqueue(t, "again", input.Random(1, 3, 100), 3)
	require.Equal(t, 3, st.Enqueued)
	_, err := e.db.Inspector().DeleteAllPendingTasks(e.queue) // converted meanwhile
	require.NoError(t, err)
	for seq := range uint64(3) {
		e.save(t, "again", seq, seq)
	}
	require.NoError(t, e.r.Client.Del(ctx, base.RecordKey(e.prefix, "again")).Err()) // expired

	_, st = e.enqueue(t, "again", input.Random(2, 3, 100), 3)
	require.Equal(t, runs.EnqueueStats{Batches: 3, Enqueued: 3}, st, "another input under the reused id starts afresh")
	n, err := e.r.Client.Exists(ctx, base.ResultKey(e.prefix, "again", 0), base.ResultKey(e.prefix, "again", 2), base.DoneKey(e.prefix, "again")).Result()
	require.NoError(t, err)
	require.Zero(t, n, "the earlier run's results and marks are gone")
}

// A replica that found no result for a batch, and enqueues it just after a
// worker finished it, must not run it again. Without Retention asynq deletes a
// finished task at once and its id is free again; with Retention the id still
// refuses the enqueue.
func TestRetentionKeepsFinishedBatchesFromRunningAgain(t *testing.T) {
	for _, tc := range []struct {
		name      string
		retention time.Duration
		again     int // batches enqueued again by the late replica
	}{
		{"without retention the batches run again", 0, 3},
		{"with retention they do not", time.Minute, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, runs.Config{Concurrency: 2, Retention: tc.retention})
			e.batchSize = 100
			queue := e.queue
			insp := e.db.Inspector()
			t.Cleanup(func() { _, _ = insp.DeleteAllCompletedTasks(queue) }) // runs before the namespace's cleanup
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			src := input.Random(1, 250, 1000)
			_, st := e.enqueue(t, "ret", src, 250)
			require.Equal(t, 3, st.Enqueued)

			// A worker finishes every batch without writing a result: what
			// the late replica saw when it looked for results was no result.
			srv := e.db.NewServer(asynq.Config{
				Queues:            map[string]int{queue: 1},
				Concurrency:       2,
				TaskCheckInterval: 20 * time.Millisecond,
				LogLevel:          asynq.ErrorLevel,
			})
			require.NoError(t, srv.Start(asynq.HandlerFunc(func(context.Context, *asynq.Task) error { return nil })))
			defer srv.Shutdown()
			waitUntil(t, ctx, "the batches processed", func() bool {
				info, err := insp.GetQueueInfo(queue)
				return err == nil && info.ProcessedTotal == 3 && info.Pending+info.Active == 0
			})
			srv.Shutdown()
			info, err := insp.GetQueueInfo(queue)
			require.NoError(t, err)
			require.Equal(t, 3-tc.again, info.Completed, "finished tasks kept")

			_, st = e.enqueue(t, "ret", src, 250)
			require.Equal(t, tc.again, st.Enqueued, "batches enqueued again")
			require.Equal(t, 3-tc.again, st.Queued, "batches refused by their task id")
		})
	}
}

// TestEnqueueWaitsForTheClearing checks that a producer finding the record
// its run's first producer created, still clearing what an earlier run of
// the id left, enqueues nothing until the clearing ends: otherwise a worker
// could save a result of its batches that the clearing then deletes. A
// fresh run's own record ends cleared.
func TestEnqueueWaitsForTheClearing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, runs.Config{})
	ctx := context.Background()
	src := input.Random(1, 3, 8)

	_, _ = e.enqueue(t, "fresh", src, 3)
	state, err := e.r.Client.HExists(ctx, base.RecordKey(e.prefix, "fresh"), base.RecordFieldState).Result()
	require.NoError(t, err)
	require.False(t, state, "a fresh run's record ends cleared")

	e.createRecord(t, "racing", src, 3, func(r *base.Record) { r.Clearing = true })
	type result struct {
		st  runs.EnqueueStats
		err error
	}
	done := make(chan result, 1)
	go func() {
		_, st, err := e.svc.Enqueue(ctx, e.spec("racing", src, 3))
		done <- result{st, err}
	}()
	time.Sleep(300 * time.Millisecond)
	info, err := e.db.Inspector().GetQueueInfo(e.queue)
	require.NoError(t, err)
	require.Equal(t, 3, info.Pending, "only the fresh run's batches are queued while the clearing lasts")
	select {
	case r := <-done:
		t.Fatalf("Enqueue returned while the record was clearing: %+v, %v", r.st, r.err)
	default:
	}

	require.NoError(t, e.db.ClearedRecord(ctx, "racing"))
	select {
	case r := <-done:
		require.NoError(t, r.err)
		require.Equal(t, runs.EnqueueStats{Batches: 3, Enqueued: 3}, r.st)
	case <-time.After(10 * time.Second):
		t.Fatal("Enqueue still waiting after the clearing ended")
	}
}

// TestEnqueueTakesOverAStoppedClearing checks that a producer finding a
// record left clearing for longer than ClearingWait (its creator stopped
// while clearing) clears what an earlier run of the id left itself, ends
// the clearing and enqueues the run, rather than leaving the id stuck.
func TestEnqueueTakesOverAStoppedClearing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, runs.Config{})
	ctx := context.Background()
	src := input.Random(1, 3, 8)
	e.save(t, "stuck", 1, 7) // a result of an earlier run of the id
	e.createRecord(t, "stuck", src, 3, func(r *base.Record) {
		r.Clearing = true
		r.Created = time.Now().Add(-runs.ClearingWait(r.Batches) - time.Second)
	})

	_, st, err := e.svc.Enqueue(ctx, e.spec("stuck", src, 3))
	require.NoError(t, err)
	require.Equal(t, runs.EnqueueStats{Batches: 3, Enqueued: 3}, st, "the earlier run's result is not adopted")
	rec, ok, err := e.db.LoadRecord(ctx, "stuck")
	require.NoError(t, err)
	require.True(t, ok)
	require.False(t, rec.Clearing)
	n, err := e.r.Client.Exists(ctx, base.ResultKey(e.prefix, "stuck", 1)).Result()
	require.NoError(t, err)
	require.Zero(t, n, "the earlier run's result is cleared")
}

func TestClearingWait(t *testing.T) {
	t.Parallel()
	require.Equal(t, time.Minute, runs.ClearingWait(0))
	require.Equal(t, time.Minute+100*time.Second, runs.ClearingWait(10_000_000))
}

// TestEnqueueRefusesMoreBatchesThanSeqsHold: every caller of Enqueue, the
// scheduled ticks as the one-shot producer, is refused a run of more than
// base.MaxBatches batches, whose seqs the done bitmap cannot hold, before
// anything is written.
func TestEnqueueRefusesMoreBatchesThanSeqsHold(t *testing.T) {
	t.Parallel()
	e := newEnv(t, runs.Config{})
	spec := e.spec("toomany", input.Random(1, base.MaxBatches+1, 8), base.MaxBatches+1)
	spec.BatchSize = 1
	_, _, err := e.svc.Enqueue(context.Background(), spec)
	require.ErrorContains(t, err, "more than 4294967296")
	n, err := e.r.Client.Exists(context.Background(), base.RecordKey(e.prefix, "toomany")).Result()
	require.NoError(t, err)
	require.Zero(t, n, "no record written")
}
