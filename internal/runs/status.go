package runs

import (
	"bitqueue/internal/base"
	"context"
	"errors"
	"fmt"

	"github.com/hibiken/asynq"

	"bitqueue/internal/results"
)

// MaxListed is how many batch ids a Status lists per kind; the counts are
// always exact.
const MaxListed = 100

// Status is the state of every batch of a run. Each batch is counted once,
// in Done, Pending or Failed, or in Lost.
type Status struct {
	Record
	Done      int // the batch has its result
	Pending   int // enqueued, not done yet: waiting, being processed or to be retried
	Active    int // of Pending: being processed now
	Retry     int // of Pending: failed, waiting to be retried
	Scheduled int // of Pending: waiting for a set time
	Failed    int // failed permanently: asynq archived it
	// Lost batches have no result and no task still to run: their result
	// expired (the task may still be kept as completed, with --retention),
	// or their task was deleted. EnqueueLost, given the run's input,
	// enqueues them again (LostBatches selects them).
	Lost      int
	FailedIDs []string // the first MaxListed failed batches' task ids, by seq
	LostIDs   []string // the first MaxListed lost batches' task ids, by seq
	LastError string   // the last error of the first failed batch
}

// GetStatus reads the state of every batch of rec's run (see assess): which
// are done, from the run's done bitmap checked against the results (one GET,
// one PTTL per marked batch), and, through insp, the asynq state of each one
// not done, in the queue (or shard of the queue) the batch was enqueued on,
// a few at a time: one round trip per batch not done.
func GetStatus(ctx context.Context, store *results.Store, insp *asynq.Inspector, rec Record) (Status, error) {
	st := Status{Record: rec}
	b, err := assess(ctx, store, insp, rec)
	if err != nil {
		return st, err
	}
	st.Done = b.done
	for i, seq := range b.seqs {
		id := base.TaskID(rec.RunID, seq)
		info := b.infos[i]
		switch b.states[i] {
		case BatchLost:
			if rec.State == StateDeleted {
				continue // deleted, not lost
			}
			st.Lost++
			if len(st.LostIDs) < MaxListed {
				st.LostIDs = append(st.LostIDs, id)
			}
		case BatchFailed:
			st.Failed++
			if len(st.FailedIDs) < MaxListed {
				st.FailedIDs = append(st.FailedIDs, id)
			}
			if st.LastError == "" {
				st.LastError = info.LastErr
			}
		case BatchQueued:
			st.Pending++
			switch info.State {
			case asynq.TaskStateActive:
				st.Active++
			case asynq.TaskStateRetry:
				st.Retry++
			case asynq.TaskStateScheduled:
				st.Scheduled++
			}
		}
	}
	return st, nil
}

// Requeue sends the run's permanently failed batches (asynq archived them)
// back to their queue, where they are pending again, and returns their task
// ids, by seq. Each gets one more attempt: asynq keeps its retry count, so a
// batch that fails again is archived again at once. A batch that left the
// archive meanwhile is skipped. Lost batches (see Status.Lost) have no task
// to send back: Producer.EnqueueLost enqueues them again from the run's
// input, which the run's fingerprint makes sure is the same.
func Requeue(ctx context.Context, store *results.Store, insp *asynq.Inspector, rec Record) ([]string, error) {
	b, err := assess(ctx, store, insp, rec)
	if err != nil {
		return nil, err
	}
	var requeued []string
	var errs []error
	for i, info := range b.infos {
		if b.states[i] != BatchFailed {
			continue
		}
		if err := ctx.Err(); err != nil {
			return requeued, err
		}
		err := insp.RunTask(info.Queue, info.ID)
		switch {
		case err == nil:
			requeued = append(requeued, info.ID)
		case errors.Is(err, asynq.ErrTaskNotFound):
		default:
			errs = append(errs, fmt.Errorf("requeue %s: %w", info.ID, err))
		}
	}
	wakeFor(ctx, store, len(requeued))
	return requeued, errors.Join(errs...)
}
