package runs

import (
	"bitqueue/internal/base"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"bitqueue/internal/input"
	"bitqueue/internal/outage"
	"bitqueue/internal/results"
	"bitqueue/internal/tasks"
	"bitqueue/internal/wake"
)

// Producer enqueues runs and waits for their results. Build one with New,
// which fills the defaults of its Config and checks it.
type Producer struct {
	Config
}

// EnqueueStats counts what Enqueue did with each batch of a run.
type EnqueueStats struct {
	Batches  int // batches in the run
	Enqueued int // newly enqueued
	Queued   int // already enqueued and not yet done: left alone
	Done     int // already holding a result: left alone
}

// Enqueue binds the run id to what the run is (its Fingerprint: queue,
// shards, batch size, total, the integers' identity) and sends every batch
// of the run that has neither a result nor a task in Redis yet, so that
// running it again enqueues nothing twice. total is the number of integers
// src holds (see Count).
//
// The first Enqueue of a run creates its record; a later one with another
// fingerprint returns a *MismatchError, and one of a deleted run a
// *DeletedError, having enqueued nothing. It rides out a Redis outage of up
// to RedisWait; when Redis is out of memory it stops at once with an
// *OutOfMemoryError, leaving what it enqueued in the queue.
func (p *Producer) Enqueue(ctx context.Context, runID string, src input.Source, total uint64) (EnqueueStats, error) {
	st := EnqueueStats{Batches: Batches(total, p.BatchSize)}
	o := outage.New(p.RedisWait, p.Logger)
	identity, err := src.Identity()
	if err != nil {
		return st, err
	}
	now := time.Now()
	var rec Record
	var created bool
	err = o.Do(ctx, "create run record", func() (err error) {
		rec, created, err = createRecord(ctx, p.Store.Client, p.Store.Root(), Record{
			RunID: runID, Queue: p.Queue, Shards: max(p.Shards, 1), Batches: st.Batches, Integers: total,
			BatchSize: p.BatchSize, Input: identity, Created: now, Updated: now,
		}, p.RecordTTL)
		return err
	})
	if err != nil {
		if outage.IsOutOfMemory(err) {
			return st, &OutOfMemoryError{RunID: runID, Batches: st.Batches, Err: err}
		}
		return st, err
	}
	// A record this producer created (also when a retry after an outage
	// found it) starts the run afresh: whatever results and done marks the
	// run id left behind in an earlier life (a record that expired before
	// them, a Redis that lost the record) belong to another input, and are
	// deleted before anything is enqueued, so that none is adopted.
	fresh := created || rec.Created.Equal(now)
	if fresh {
		err := o.Do(ctx, "clear an earlier run's results", func() error {
			_, err := p.Store.DeleteRun(ctx, runID, st.Batches)
			return err
		})
		if err != nil {
			return st, fmt.Errorf("clear results left by an earlier run %s: %w", runID, err)
		}
	}
	// A delete of the run (a tombstone) stops every enqueue of it within
	// guardFresh.
	guard := watchRecord(ctx, p.Store, runID, p.RedisWait)
	defer guard.stop()

	opts := []asynq.Option{asynq.MaxRetry(p.MaxRetry)} // the queue is the task's own (QueueOf)
	if p.TaskTimeout > 0 {
		opts = append(opts, asynq.Timeout(p.TaskTimeout))
	}
	if p.Retention > 0 {
		opts = append(opts, asynq.Retention(p.Retention))
	}
	// Cancelling feed stops new enqueues; those in flight run to their end
	// on ctx, so that what Redis holds is exactly what st counts.
	feed, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	// Idle workers poll slowly: wake them while batches arrive, so that they
	// pull at once rather than at their next idle poll; the whole fleet for
	// a run of several batches, a few workers for a lone batch.
	defer wake.While(ctx, p.Store.Client, p.Store.Root(), time.Second, st.Batches > 1)()
	work := make(chan *asynq.Task, inFlight(p.BatchSize, p.Concurrency))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range max(p.Concurrency, 1) {
		wg.Go(func() {
			for t := range work {
				if feed.Err() != nil {
					continue // stopping: drain without enqueueing
				}
				if err := guard.live(feed); err != nil {
					mu.Lock()
					if feed.Err() == nil {
						stop(err)
					}
					mu.Unlock()
					continue
				}
				conflict := false
				err := o.Do(feed, "enqueue", func() error {
					_, err := p.Client.EnqueueContext(ctx, t, opts...)
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
				case outage.IsOutOfMemory(err):
					stop(errOutOfMemory{err})
				case feed.Err() == nil:
					stop(fmt.Errorf("enqueue: %w", err))
				}
				mu.Unlock()
			}
		})
	}
	readErr := p.feed(feed, o, runID, fresh, src, st.Batches, func(done bool, b base.Batch) error {
		if done {
			mu.Lock()
			st.Done++
			mu.Unlock()
			return nil
		}
		t, err := tasks.NewBitsTask(b, asynq.Queue(p.QueueOf(runID, b.Seq)))
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
	var oom errOutOfMemory
	var deleted *DeletedError
	var gone *GoneError
	switch err := context.Cause(feed); {
	case errors.As(err, &oom):
		return st, &OutOfMemoryError{RunID: runID, Started: true, Batches: st.Batches,
			Enqueued: st.Enqueued, Queued: st.Queued, Done: st.Done, Err: oom.err}
	case errors.As(err, &deleted), errors.As(err, &gone):
		return st, &StoppedError{Err: err, Stats: st}
	case err != nil:
		return st, err
	}
	return st, readErr
}

// maxInFlight bounds the integers Enqueue holds at once, in the chunk it
// checks and in the tasks waiting for an enqueuer: its memory stays flat in
// the batch size.
const maxInFlight = 1 << 20

// maxChunk bounds the batches of one chunk, so that a chunk's check is one
// GETRANGE of at most 128 bytes and a pipeline of at most maxChunk EXISTS.
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

// feed reads the run's batches from src in order, in chunks of
// chunkBatches: just before it reads a chunk it checks which of its batches
// are done (doneIn), so that a re-run while workers are busy does not enqueue
// again a batch that was finished a moment before; a fresh run has none done
// and checks nothing. It calls fn with each batch, and whether it is done;
// the batch's storage is reused once fn returns.
func (p *Producer) feed(ctx context.Context, o *outage.Rider, runID string, fresh bool, src input.Source, batches int, fn func(done bool, b base.Batch) error) error {
	s, err := src.Open()
	if err != nil {
		return err
	}
	defer s.Close()
	buf := make([]uint64, p.BatchSize)
	step := chunkBatches(p.BatchSize)
	for first := uint64(0); first < uint64(batches); first += step {
		end := min(first+step, uint64(batches))
		done := make([]bool, end-first)
		if !fresh {
			err := o.Do(ctx, "check done batches", func() (err error) {
				done, err = p.doneIn(ctx, runID, first, end)
				return err
			})
			if err != nil {
				return err
			}
		}
		for seq := first; seq < end; seq++ {
			n, err := readBatch(s, buf)
			if err != nil {
				return err
			}
			if n == 0 {
				return fmt.Errorf("%s: ended at batch %d of the %d it held when counted", src.Name(), seq, batches)
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(done[seq-first], base.Batch{RunID: runID, Seq: seq, Nums: buf[:n]}); err != nil {
				return err
			}
		}
	}
	return nil
}

// doneIn reports, for each batch first..end-1, whether it is done: whether
// its result exists (one GETRANGE of the done bitmap, one PTTL per batch,
// pipelined). A result without its mark (saved by a worker that failed
// before marking it, or by a version that kept no bitmap) gets its mark; a
// mark without its result (expired or deleted) is cleared, and its batch
// enqueued again.
func (p *Producer) doneIn(ctx context.Context, runID string, first, end uint64) ([]bool, error) {
	bits, err := p.Store.DoneRange(ctx, runID, first, end)
	if err != nil {
		return nil, err
	}
	seqs := make([]uint64, 0, end-first)
	for seq := first; seq < end; seq++ {
		seqs = append(seqs, seq)
	}
	left, err := p.Store.Lifetimes(ctx, runID, seqs)
	if err != nil {
		return nil, err
	}
	done := make([]bool, end-first)
	var repair, stale []uint64
	var within []time.Duration
	for i, seq := range seqs {
		marked := bits.Done(seq - first&^7)
		done[i] = left[i] != results.Missing
		switch {
		case done[i] && !marked:
			repair = append(repair, seq)
			within = append(within, left[i])
		case !done[i] && marked:
			stale = append(stale, seq)
		}
	}
	if err := p.Store.MarkDoneWithin(ctx, runID, results.Shortest(within...), repair...); err != nil {
		return nil, err
	}
	return done, p.Store.Unmark(ctx, runID, stale...)
}
