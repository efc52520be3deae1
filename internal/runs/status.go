package runs

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/hibiken/asynq"

	"bitqueue/internal/results"
	"bitqueue/internal/shard"
	"bitqueue/internal/tasks"
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

// GetStatus reads the state of every batch of rec's run: which are done,
// from the run's done bitmap (one GET), and, through insp, the asynq state of
// each one not done, in the queue (or shard of the queue) the batch was
// enqueued on. It looks each of those up with insp, a few at a time, so it
// costs one round trip per batch not done.
func GetStatus(ctx context.Context, store *results.Store, insp *asynq.Inspector, rec Record) (Status, error) {
	st := Status{Record: rec}
	missing, infos, err := notDone(ctx, store, insp, rec)
	if err != nil {
		return st, err
	}
	st.Done = rec.Batches - len(missing)
	var gone []uint64
	for i, info := range infos {
		if info == nil || info.State == asynq.TaskStateCompleted {
			gone = append(gone, missing[i])
		}
	}
	lost, err := stillGone(ctx, store, rec.RunID, gone)
	if err != nil {
		return st, err
	}
	isLost := make(map[uint64]bool, len(lost))
	for _, seq := range lost {
		isLost[seq] = true
	}
	for i, info := range infos {
		seq := missing[i]
		id := tasks.TaskID(rec.RunID, seq)
		switch {
		case (info == nil || info.State == asynq.TaskStateCompleted) && !isLost[seq]:
			st.Done++
		case info == nil || info.State == asynq.TaskStateCompleted:
			st.Lost++
			if len(st.LostIDs) < MaxListed {
				st.LostIDs = append(st.LostIDs, id)
			}
		case info.State == asynq.TaskStateArchived:
			st.Failed++
			if len(st.FailedIDs) < MaxListed {
				st.FailedIDs = append(st.FailedIDs, id)
			}
			if st.LastError == "" {
				st.LastError = info.LastErr
			}
		default:
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

// notDone returns the seqs of rec's batches without a done mark, by seq,
// with the asynq task of each (nil when it has none).
func notDone(ctx context.Context, store *results.Store, insp *asynq.Inspector, rec Record) ([]uint64, []*asynq.TaskInfo, error) {
	bits, err := store.DoneBits(ctx, rec.RunID)
	if err != nil {
		return nil, nil, fmt.Errorf("read done batches: %w", err)
	}
	var missing []uint64
	for seq := range uint64(rec.Batches) {
		if !bits.Done(seq) {
			missing = append(missing, seq)
		}
	}
	infos, err := taskInfos(ctx, insp, rec, missing)
	if err != nil {
		return nil, nil, err
	}
	return missing, infos, nil
}

// lookups is how many task lookups GetStatus runs at once.
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
				id := tasks.TaskID(rec.RunID, seqs[i])
				queue := shard.QueueOf(rec.Queue, rec.Shards, id)
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

// Requeue sends the run's permanently failed batches (asynq archived them)
// back to their queue, where they are pending again, and returns their task
// ids, by seq. Each gets one more attempt: asynq keeps its retry count, so a
// batch that fails again is archived again at once. A batch that left the
// archive meanwhile is skipped. Lost batches (see Status.Lost) have no task
// to send back: Producer.EnqueueLost enqueues them again from the run's
// input, which the run's fingerprint makes sure is the same.
func Requeue(ctx context.Context, store *results.Store, insp *asynq.Inspector, rec Record) ([]string, error) {
	_, infos, err := notDone(ctx, store, insp, rec)
	if err != nil {
		return nil, err
	}
	var requeued []string
	var errs []error
	for _, info := range infos {
		if info == nil || info.State != asynq.TaskStateArchived {
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
	return requeued, errors.Join(errs...)
}
