package runs

import (
	"bitqueue/internal/base"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"bitqueue/internal/results"
)

// BatchState is where one batch of a run stands. It is decided in one
// place, assess, from the run's record, its done marks, its result keys and
// asynq's tasks.
type BatchState int

const (
	// BatchQueued: no result yet, and a task that can still run (pending,
	// active, scheduled, retry or aggregating).
	BatchQueued BatchState = iota
	// BatchDone: its result is stored. A done mark alone is not enough: a
	// mark whose result expired or was deleted is cleared.
	BatchDone
	// BatchFailed: its task is archived; Requeue sends it back.
	BatchFailed
	// BatchLost: no result and no task that can run (none, or one kept as
	// completed whose result is gone); EnqueueLost enqueues it again.
	BatchLost
)

// batches is the state of every batch of a run, as assess found it.
type batches struct {
	done int
	// seqs are the batches not done, by seq, with their state and task
	// (nil when they have none).
	seqs   []uint64
	states []BatchState
	infos  []*asynq.TaskInfo
}

// of returns the seqs of the batches in state s, by seq.
func (b batches) of(s BatchState) []uint64 {
	var out []uint64
	for i, st := range b.states {
		if st == s {
			out = append(out, b.seqs[i])
		}
	}
	return out
}

// assess decides the state of every batch of rec's run. A batch is done
// when its result exists: it reads the done bitmap (one GET) and checks the
// result of every marked batch (one PTTL each, pipelined), clearing the marks
// whose result is gone. It looks up the asynq task of every batch not done
// (one round trip each, a few at once), and checks the results of those
// without a task that can run once more, so that a batch finishing
// meanwhile is not called lost; a result found without its mark gets its
// mark.
func assess(ctx context.Context, store *results.Store, insp *asynq.Inspector, rec Record) (batches, error) {
	missing, err := verifiedMissing(ctx, store, rec.RunID, rec.Batches)
	if err != nil {
		return batches{}, err
	}
	infos, err := taskInfos(ctx, insp, rec, missing)
	if err != nil {
		return batches{}, err
	}
	b := batches{done: rec.Batches - len(missing), seqs: missing, infos: infos, states: make([]BatchState, len(missing))}
	var gone []uint64
	for i, info := range infos {
		switch {
		case info == nil || info.State == asynq.TaskStateCompleted:
			gone = append(gone, missing[i])
		case info.State == asynq.TaskStateArchived:
			b.states[i] = BatchFailed
		default:
			b.states[i] = BatchQueued
		}
	}
	lost, err := stillGone(ctx, store, rec.RunID, gone)
	if err != nil {
		return batches{}, err
	}
	for i, info := range infos {
		if info != nil && info.State != asynq.TaskStateCompleted {
			continue
		}
		if _, isLost := slices.BinarySearch(lost, missing[i]); isLost {
			b.states[i] = BatchLost
		} else {
			b.states[i] = BatchDone
			b.done++
		}
	}
	return b, nil
}

// verifiedMissing returns the seqs of the run's batches 0..n-1 that have no
// result, by seq: those without a done mark, and those whose mark vouches
// for a result that is gone (expired or deleted), whose mark it clears.
func verifiedMissing(ctx context.Context, store *results.Store, runID string, n int) ([]uint64, error) {
	bits, err := store.DoneBits(ctx, runID)
	if err != nil {
		return nil, fmt.Errorf("read done batches: %w", err)
	}
	var missing, marked []uint64
	for seq := range uint64(n) {
		if bits.Done(seq) {
			marked = append(marked, seq)
		} else {
			missing = append(missing, seq)
		}
	}
	stale, err := staleMarks(ctx, store, runID, marked)
	if err != nil {
		return nil, err
	}
	if len(stale) == 0 {
		return missing, nil
	}
	return slices.Sorted(slices.Values(append(missing, stale...))), nil
}

// staleMarks returns those of marked, batches with a done mark, whose
// result is gone, and clears their marks.
func staleMarks(ctx context.Context, store *results.Store, runID string, marked []uint64) ([]uint64, error) {
	left, err := store.Lifetimes(ctx, runID, marked)
	if err != nil {
		return nil, fmt.Errorf("read results: %w", err)
	}
	var stale []uint64
	for i, d := range left {
		if d == results.Missing {
			stale = append(stale, marked[i])
		}
	}
	return stale, store.Unmark(ctx, runID, stale...)
}

// stillGone returns those of gone, batches without a task that can run a
// moment ago, that still have no result, by seq: a batch that finished
// between the first look and the task lookup has no task any more. A result
// found without its mark gets its mark, expiring no later than the result.
func stillGone(ctx context.Context, store *results.Store, runID string, gone []uint64) ([]uint64, error) {
	if len(gone) == 0 {
		return nil, nil
	}
	left, err := store.Lifetimes(ctx, runID, gone)
	if err != nil {
		return nil, fmt.Errorf("read results: %w", err)
	}
	var lost, repair []uint64
	var within []time.Duration
	for i, seq := range gone {
		if left[i] == results.Missing {
			lost = append(lost, seq)
			continue
		}
		repair = append(repair, seq)
		within = append(within, left[i])
	}
	if err := store.MarkDoneWithin(ctx, runID, results.Shortest(within...), repair...); err != nil {
		return nil, err
	}
	return lost, store.Unmark(ctx, runID, lost...)
}

// lookups is how many task lookups run at once.
const lookups = 8

// taskInfos returns, for each seq of rec's run, its task's info, or nil when
// the task does not exist.
func taskInfos(ctx context.Context, insp *asynq.Inspector, rec Record, seqs []uint64) ([]*asynq.TaskInfo, error) {
	infos := make([]*asynq.TaskInfo, len(seqs))
	if len(seqs) == 0 {
		return infos, nil
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(lookups, len(seqs)) {
		wg.Go(func() {
			for i := range next {
				id := base.TaskID(rec.RunID, seqs[i])
				queue := base.QueueOf(rec.Queue, rec.Shards, id)
				info, err := insp.GetTaskInfo(queue, id)
				switch {
				case err == nil:
					infos[i] = info
				case errors.Is(err, asynq.ErrTaskNotFound), errors.Is(err, asynq.ErrQueueNotFound):
				default:
					cancel(fmt.Errorf("look up task %s in queue %s: %w", id, queue, err))
				}
			}
		})
	}
feed:
	for i := range seqs {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	return infos, nil
}
