package runs

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"go.opentelemetry.io/otel/trace"

	"bitqueue/internal/base"
	"bitqueue/internal/input"
	"bitqueue/internal/rdb"
	"bitqueue/internal/tasks"
	"bitqueue/internal/tracing"
)

// Spec is a run to enqueue: its id, where its batches go and what they
// hold. All but RunID is the run's fingerprint, what its id is bound to.
type Spec struct {
	RunID string
	// Queue is the asynq queue of the run's batches; with Shards above 1,
	// the base of the names of the queues they are spread over
	// (base.Queues).
	Queue     string
	Shards    int // default 1
	BatchSize int
	// Source holds the run's integers, Integers of them (input.Count).
	Source   input.Source
	Integers uint64
}

// validate names the first field of s out of its range.
func (s Spec) validate() error {
	switch {
	case base.ValidateRunID(s.RunID) != nil:
		return fmt.Errorf("runs: Spec.RunID: %w", base.ValidateRunID(s.RunID))
	case s.Queue == "":
		return errors.New("runs: Spec.Queue is empty")
	case s.Shards < 0 || s.Shards > base.MaxShards:
		return fmt.Errorf("runs: Spec.Shards %d out of range [1, %d]", s.Shards, base.MaxShards)
	case s.BatchSize < 1 || s.BatchSize > base.MaxBatch:
		return fmt.Errorf("runs: Spec.BatchSize %d out of range [1, %d]", s.BatchSize, base.MaxBatch)
	case s.Source == nil:
		return errors.New("runs: Spec.Source is nil")
	case uint64(base.Batches(s.Integers, s.BatchSize)) > base.MaxBatches:
		return fmt.Errorf("runs: Spec of %d integers in batches of %d makes %d batches, more than %d",
			s.Integers, s.BatchSize, base.Batches(s.Integers, s.BatchSize), uint64(base.MaxBatches))
	}
	return nil
}

// EnqueueStats counts what Enqueue did with each batch of a run.
type EnqueueStats struct {
	Batches  int `json:"batches"`        // batches in the run
	Enqueued int `json:"enqueued"`       // newly enqueued
	Queued   int `json:"already_queued"` // already enqueued and not yet done: left alone
	Done     int `json:"already_done"`   // already holding a result: left alone
}

// Fingerprint is what a run id is bound to: a run's record holds it from the
// first enqueue of the run, and a later producer of the run must give the
// same one, or it enqueues nothing.
type Fingerprint struct {
	Queue     string
	Shards    int
	BatchSize int
	Integers  uint64
	Input     string // input.Source.Identity of the integers
}

// fingerprintOf returns what rec's run id is bound to.
func fingerprintOf(rec base.Record) Fingerprint {
	return Fingerprint{Queue: rec.Queue, Shards: max(rec.Shards, 1), BatchSize: rec.BatchSize, Integers: rec.Integers, Input: rec.Input}
}

// Compare returns nil when given equals f, the recorded fingerprint of runID,
// and otherwise a *MismatchError naming the first field that differs, in the
// order input, integers, batch_size, shards, queue.
func (f Fingerprint) Compare(runID string, given Fingerprint) error {
	for _, d := range []struct{ field, recorded, given string }{
		{base.RecordFieldInput, f.Input, given.Input},
		{base.RecordFieldIntegers, strconv.FormatUint(f.Integers, 10), strconv.FormatUint(given.Integers, 10)},
		{base.RecordFieldBatchSize, strconv.Itoa(f.BatchSize), strconv.Itoa(given.BatchSize)},
		{base.RecordFieldShards, strconv.Itoa(max(f.Shards, 1)), strconv.Itoa(max(given.Shards, 1))},
		{base.RecordFieldQueue, f.Queue, given.Queue},
	} {
		if d.recorded != d.given {
			return &MismatchError{RunID: runID, Field: d.field, Recorded: d.recorded, Given: d.given}
		}
	}
	return nil
}

// taskOptions are the options of every task the service enqueues; the queue
// is the task's own (queueOf).
func (s *Service) taskOptions() []asynq.Option {
	opts := []asynq.Option{asynq.MaxRetry(s.MaxRetry)}
	if s.TaskTimeout > 0 {
		opts = append(opts, asynq.Timeout(s.TaskTimeout))
	}
	if s.Retention > 0 {
		opts = append(opts, asynq.Retention(s.Retention))
	}
	return opts
}

// bind creates the record of spec's run, or checks spec against the one its
// first producer created, and returns it, and whether this producer must
// clear what an earlier run of the id left before it enqueues: it created
// the record, or takes over the clearing of a creator that stopped. A run
// id bound to another fingerprint is a *MismatchError, a deleted run a
// *DeletedError; either way nothing was written.
func (s *Service) bind(ctx context.Context, spec Spec, identity string) (base.Record, bool, error) {
	now := time.Now()
	want := base.Record{
		RunID: spec.RunID, Queue: spec.Queue, Shards: max(spec.Shards, 1), Batches: base.Batches(spec.Integers, spec.BatchSize),
		Integers: spec.Integers, BatchSize: spec.BatchSize, Input: identity, Created: now, Updated: now, Clearing: true,
	}
	var rec base.Record
	var created bool
	err := s.rider.Do(ctx, "create run record", func() (err error) {
		rec, created, err = s.RDB.CreateRecord(ctx, want, s.RecordTTL)
		return err
	})
	if err != nil {
		return base.Record{}, false, err
	}
	// A retry after an outage may find the record its first attempt made.
	fresh := created || rec.Created.Equal(now)
	if !fresh && rec.Clearing {
		if rec, err = s.awaitCleared(ctx, rec); err != nil {
			return base.Record{}, false, err
		}
	}
	mustClear := fresh || rec.Clearing // a tombstone is never clearing
	switch {
	case rec.Deleted:
		return base.Record{}, false, &DeletedError{RunID: spec.RunID}
	case !fresh:
		if err := fingerprintOf(rec).Compare(spec.RunID, fingerprintOf(want)); err != nil {
			return base.Record{}, false, err
		}
		err = s.rider.Do(ctx, "refresh run record", func() error { return s.RDB.TouchRecord(ctx, spec.RunID, now, s.RecordTTL) })
		rec.Updated = now
	}
	if err == nil {
		err = s.rider.Do(ctx, "index run", func() error { return s.RDB.IndexRun(ctx, spec.RunID, rec.Created) })
	}
	return rec, mustClear, err
}

// awaitCleared waits until the first producer of rec's run has cleared what
// an earlier run of the id left (rec.Clearing), so that nothing this
// producer enqueues can be saved and then cleared, and returns the record
// then. Past ClearingWait(rec.Batches) from the record's creation it
// returns the record still clearing: its creator stopped while clearing,
// and this producer takes the clearing over.
func (s *Service) awaitCleared(ctx context.Context, rec base.Record) (base.Record, error) {
	wait := ClearingWait(rec.Batches)
	deadline := rec.Created.Add(wait)
	if limit := time.Now().Add(wait); deadline.After(limit) { // the creator's clock runs ahead
		deadline = limit
	}
	for rec.Clearing && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return base.Record{}, context.Cause(ctx)
		case <-time.After(clearingPoll):
		}
		var ok bool
		err := s.rider.Do(ctx, "read run record", func() (err error) {
			rec, ok, err = s.RDB.LoadRecord(ctx, rec.RunID)
			return err
		})
		if err != nil {
			return base.Record{}, err
		}
		if !ok {
			return base.Record{}, &GoneError{RunID: rec.RunID}
		}
	}
	if rec.Clearing {
		s.Logger.Warn("taking over the clearing of a run whose first producer stopped while clearing",
			"run_id", rec.RunID, "created", rec.Created, "waited_up_to", wait)
	}
	return rec, nil
}

// clearingPoll is how often awaitCleared reads the record.
const clearingPoll = 50 * time.Millisecond

// ClearingWait is how long after creating the record of a run of batches
// its first producer may take to clear what an earlier run of its id left
// before another producer of the run takes the clearing over: a minute,
// and 10 µs a batch beyond (DeleteRun deletes a result key a batch).
func ClearingWait(batches int) time.Duration {
	return time.Minute + time.Duration(batches)*10*time.Microsecond
}

// Enqueue binds spec's run id to what the run is (its Fingerprint) and sends
// every batch of the run that has neither a result nor a task in Redis yet,
// so that running it again enqueues nothing twice. It returns the run's
// record, to wait for the run with.
//
// The first Enqueue of a run creates its record, having deleted whatever
// results and done marks the run id left behind in an earlier life (a record
// that expired before them, a Redis that lost the record), so that another
// input never adopts them. A later Enqueue with another fingerprint returns
// a *MismatchError, and one of a deleted run a *DeletedError, having
// enqueued nothing. While it enqueues it watches the run's record: a run
// deleted meanwhile, or whose record vanishes, stops it with a
// *StoppedError. It rides out a Redis outage of up to RedisWait; when Redis
// is out of memory it stops at once with an *OutOfMemoryError, leaving what
// it enqueued in the queue. Each task carries the trace context of ctx's
// span, when ctx holds one (tasks.NewBitsTaskWithContext), so that the
// workers' spans of its batches join the caller's trace.
func (s *Service) Enqueue(ctx context.Context, spec Spec) (rec base.Record, st EnqueueStats, err error) {
	ctx, span := s.Tracer.Start(ctx, SpanEnqueue, trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(
		tracing.AttrSystem.String("asynq"), tracing.AttrOperation.String("send"), tracing.AttrQueue.String(spec.Queue),
		tracing.AttrRunID.String(spec.RunID)))
	defer func() {
		span.SetAttributes(tracing.AttrBatches.Int(st.Batches), tracing.AttrEnqueued.Int(st.Enqueued),
			tracing.AttrAlreadyQueued.Int(st.Queued), tracing.AttrAlreadyDone.Int(st.Done))
		tracing.End(span, err)
	}()
	return s.enqueue(ctx, spec)
}

func (s *Service) enqueue(ctx context.Context, spec Spec) (base.Record, EnqueueStats, error) {
	if err := spec.validate(); err != nil {
		return base.Record{}, EnqueueStats{}, err
	}
	st := EnqueueStats{Batches: base.Batches(spec.Integers, spec.BatchSize)}
	identity, err := spec.Source.Identity()
	if err != nil {
		return base.Record{}, st, err
	}
	rec, mustClear, err := s.bind(ctx, spec, identity)
	if rdb.IsOutOfMemory(err) {
		return base.Record{}, st, &OutOfMemoryError{RunID: spec.RunID, Batches: st.Batches, Err: err}
	}
	if err != nil {
		return base.Record{}, st, err
	}
	if mustClear {
		err := s.rider.Do(ctx, "clear an earlier run's results", func() error {
			_, err := s.RDB.DeleteRun(ctx, spec.RunID, st.Batches)
			return err
		})
		if err == nil {
			err = s.rider.Do(ctx, "end the run record's clearing", func() error { return s.RDB.ClearedRecord(ctx, spec.RunID) })
		}
		if err != nil {
			return rec, st, fmt.Errorf("clear results left by an earlier run %s: %w", spec.RunID, err)
		}
		rec.Clearing = false
	}
	guard := s.watchRecord(ctx, spec.RunID)
	defer guard.stop()

	opts := s.taskOptions()
	// Cancelling feed stops new enqueues; those in flight run to their end
	// on ctx, so that what Redis holds is exactly what st counts.
	feed, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	// Idle workers poll slowly: wake them while batches arrive, so that they
	// pull at once rather than at their next idle poll; the whole fleet for
	// a run of several batches, a few workers for a lone batch.
	defer s.wakeWhile(ctx, time.Second, st.Batches)()
	work := make(chan *asynq.Task, inFlight(spec.BatchSize, s.Concurrency))
	var mu sync.Mutex
	var oom error
	var wg sync.WaitGroup
	for range s.Concurrency {
		wg.Go(func() {
			for t := range work {
				if feed.Err() != nil {
					continue // stopping: drain without enqueueing
				}
				if err := guard.live(feed); err != nil {
					stop(err)
					continue
				}
				conflict := false
				err := s.rider.Do(feed, "enqueue", func() error {
					_, err := s.RDB.Enqueue(ctx, t, opts...)
					if errors.Is(err, asynq.ErrTaskIDConflict) {
						conflict = true // also after a retry of an enqueue that went through
						return nil
					}
					return err
				})
				mu.Lock()
				switch {
				case err == nil && conflict:
					st.Queued++
				case err == nil:
					st.Enqueued++
				case rdb.IsOutOfMemory(err):
					oom = err
					stop(err)
				case feed.Err() == nil:
					stop(fmt.Errorf("enqueue: %w", err))
				}
				mu.Unlock()
			}
		})
	}
	readErr := s.feed(feed, rec, mustClear, spec.Source, func(done bool, b base.Batch) error {
		if done {
			mu.Lock()
			st.Done++
			mu.Unlock()
			return nil
		}
		t, err := tasks.NewBitsTaskWithContext(ctx, b, asynq.Queue(queueOf(rec, b.Seq)))
		if err != nil {
			return err
		}
		select {
		case work <- t:
			return nil
		case <-feed.Done():
			return context.Cause(feed)
		}
	})
	close(work)
	wg.Wait()
	var deleted *DeletedError
	var gone *GoneError
	switch err := context.Cause(feed); {
	case oom != nil:
		return rec, st, &OutOfMemoryError{RunID: spec.RunID, Started: true, Batches: st.Batches,
			Enqueued: st.Enqueued, Queued: st.Queued, Done: st.Done, Err: oom}
	case errors.As(err, &deleted), errors.As(err, &gone):
		return rec, st, &StoppedError{Err: err, Stats: st}
	case err != nil:
		return rec, st, err
	}
	return rec, st, readErr
}

// maxInFlight bounds the integers Enqueue holds at once, in the chunk it
// checks and in the tasks waiting for an enqueuer: its memory stays flat in
// the batch size.
const maxInFlight = 1 << 20

// maxChunk bounds the batches of one chunk, so that a chunk's check is one
// GETRANGE of at most 128 bytes and a pipeline of at most maxChunk PTTL.
const maxChunk = 1024

// chunkBatches returns how many batches of size batchSize Enqueue checks at
// once.
func chunkBatches(batchSize int) uint64 {
	return uint64(min(max(maxInFlight/max(batchSize, 1), 1), maxChunk))
}

// inFlight returns how many encoded tasks may wait for an enqueuer.
func inFlight(batchSize, concurrency int) int {
	return max(1, min(2*max(concurrency, 1), maxInFlight/max(batchSize, 1)))
}

// feed reads rec's batches from src in order, in chunks of chunkBatches:
// just before it reads a chunk it checks which of its batches are done
// (doneIn), so that a re-run while workers are busy does not enqueue again a
// batch that was finished a moment before; a run just cleared has none done
// and checks nothing. It calls fn with each batch, and whether it is done;
// the batch's storage is reused once fn returns.
func (s *Service) feed(ctx context.Context, rec base.Record, cleared bool, src input.Source, fn func(done bool, b base.Batch) error) error {
	st, err := src.Open()
	if err != nil {
		return err
	}
	defer st.Close()
	buf := make([]uint64, rec.BatchSize)
	step := chunkBatches(rec.BatchSize)
	for first := uint64(0); first < uint64(rec.Batches); first += step {
		end := min(first+step, uint64(rec.Batches))
		done := make([]bool, end-first)
		if !cleared {
			err := s.rider.Do(ctx, "check done batches", func() (err error) {
				done, err = s.doneIn(ctx, rec.RunID, first, end)
				return err
			})
			if err != nil {
				return err
			}
		}
		for seq := first; seq < end; seq++ {
			n, err := readBatch(st, buf)
			if err != nil {
				return err
			}
			if n == 0 {
				return fmt.Errorf("%s: ended at batch %d of the %d it held when counted", src.Name(), seq, rec.Batches)
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(done[seq-first], base.Batch{RunID: rec.RunID, Seq: seq, Nums: buf[:n]}); err != nil {
				return err
			}
		}
	}
	return nil
}

// doneIn reports, for each batch first..end-1, whether it is done: whether
// its result exists (one GETRANGE of the done bitmap, one PTTL per batch,
// pipelined). Marks are made to agree (settle): a result without its mark
// (saved by a worker that failed before marking it) gets its mark; a mark
// without its result (expired or deleted) is cleared, and its batch
// enqueued again.
func (s *Service) doneIn(ctx context.Context, runID string, first, end uint64) ([]bool, error) {
	bits, err := s.RDB.DoneRange(ctx, runID, first, end)
	if err != nil {
		return nil, err
	}
	seqs := make([]uint64, 0, end-first)
	for seq := first; seq < end; seq++ {
		seqs = append(seqs, seq)
	}
	return s.settle(ctx, runID, seqs, func(seq uint64) bool { return bits.Done(seq - first&^7) })
}

// wakeWhile wakes workers for a run of n batches (wakeFor) at once and then
// every period until the returned stop is called or ctx ends, so that
// workers that went idle while a producer is still enqueueing wake again.
// Failures are ignored: workers find the work by polling anyway. stop waits
// for the waker to end, and lets a wake-up in flight finish (within
// period): a lone batch is enqueued in fewer round trips than finding a
// shard channel with a listener may take.
func (s *Service) wakeWhile(ctx context.Context, period time.Duration, n int) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			pctx, pcancel := context.WithTimeout(context.WithoutCancel(ctx), period)
			s.wakeFor(pctx, n)
			pcancel()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// LogPlacement logs, on a Redis Cluster, which master holds each of the
// queues of a run on queue with shards, and warns about masters that hold
// none, since they take no part in the run.
func (s *Service) LogPlacement(ctx context.Context, queue string, shards int) {
	queues := base.Queues(queue, shards)
	p, cluster, err := s.RDB.Place(ctx, queues)
	switch {
	case !cluster:
		return
	case err != nil:
		s.Logger.Warn("could not find which cluster master holds each queue", "err", err)
		return
	}
	for addr, qs := range p.Queues {
		s.Logger.Info("cluster master", "addr", addr, "queues", qs)
	}
	if len(p.Idle) > 0 {
		s.Logger.Warn("cluster masters hold none of the queues and take no part: raise --shards (on the producer and the workers) to spread the queues over every master", "idle", p.Idle, "shards", len(queues), "masters", len(p.Queues))
	}
}
