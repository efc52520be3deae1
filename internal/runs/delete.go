package runs

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"bitqueue/internal/base"
	"bitqueue/internal/results"
)

// DeleteStats counts what Delete removed.
type DeleteStats struct {
	Tasks   int      // tasks deleted, in any state but active
	Active  []string // task ids of batches being processed, left to finish
	Results int      // result keys and done bitmap deleted
}

// Delete deletes rec's run: it first turns the run's record into a tombstone
// (state deleted, fingerprint kept, expiring after ttl, base.DefaultTTL
// when not positive), so that no producer enqueues the run again while it
// lives; then deletes the run's tasks in every asynq state but active (one
// Inspector.DeleteTask per batch, in the batch's shard queue), its results
// and done bitmap. The run stays in the index of runs, listed as deleted,
// until its tombstone expires (List prunes it then). Active batches are
// left to finish and listed in DeleteStats.Active: they will write their
// results, which a second Delete removes.
func Delete(ctx context.Context, store *results.Store, insp *asynq.Inspector, rec Record, ttl time.Duration) (DeleteStats, error) {
	var st DeleteStats
	prefix := store.Root()
	key := base.RecordKey(prefix, rec.RunID)
	if ttl <= 0 {
		ttl = base.DefaultTTL
	}
	_, err := store.Client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, key, recState, StateDeleted, recUpdated, time.Now().UTC().Format(time.RFC3339Nano))
		p.PExpire(ctx, key, ttl)
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("mark run %s deleted in %s: %w", rec.RunID, key, err)
	}
	// A producer still enqueueing the run stops within guardFresh of the
	// tombstone: only then are its tasks deleted.
	select {
	case <-time.After(TombstoneSettle):
	case <-ctx.Done():
		return st, ctx.Err()
	}
	if err := deleteTasks(ctx, insp, rec, &st); err != nil {
		return st, err
	}
	if st.Results, err = store.DeleteRun(ctx, rec.RunID, rec.Batches); err != nil {
		return st, fmt.Errorf("delete results of run %s: %w", rec.RunID, err)
	}
	return st, nil
}

// deleteTasks deletes the task of every batch of rec's run, a few at a time,
// counting them in st; an active task is listed in st.Active instead.
func deleteTasks(ctx context.Context, insp *asynq.Inspector, rec Record, st *DeleteStats) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan uint64)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range min(lookups, rec.Batches) {
		wg.Go(func() {
			for seq := range next {
				id := base.TaskID(rec.RunID, seq)
				deleted, active, err := deleteTask(insp, base.QueueOf(rec.Queue, rec.Shards, id), id)
				mu.Lock()
				switch {
				case err != nil:
					cancel(err)
				case deleted:
					st.Tasks++
				case active:
					st.Active = append(st.Active, id)
				}
				mu.Unlock()
			}
		})
	}
feed:
	for seq := range uint64(rec.Batches) {
		select {
		case next <- seq:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	slices.SortFunc(st.Active, func(a, b string) int {
		sa, _ := base.SeqOf(rec.RunID, a)
		sb, _ := base.SeqOf(rec.RunID, b)
		return cmp.Compare(sa, sb)
	})
	return context.Cause(ctx)
}

// deleteTask deletes task id of queue and reports whether it did, or
// whether the task is active (asynq refuses to delete those). A task that
// changes state under it — finishes, fails, is retried — is looked up again:
// gone is not an error, and a task that left the active state is deleted.
func deleteTask(insp *asynq.Inspector, queue, id string) (deleted, active bool, err error) {
	for range 5 {
		err := insp.DeleteTask(queue, id)
		switch {
		case err == nil:
			return true, false, nil
		case errors.Is(err, asynq.ErrTaskNotFound), errors.Is(err, asynq.ErrQueueNotFound):
			return false, false, nil
		}
		info, ierr := insp.GetTaskInfo(queue, id)
		switch {
		case errors.Is(ierr, asynq.ErrTaskNotFound), errors.Is(ierr, asynq.ErrQueueNotFound):
			return false, false, nil // finished meanwhile
		case ierr != nil:
			return false, false, fmt.Errorf("delete task %s in queue %s: %w (looking it up: %v)", id, queue, err, ierr)
		case info.State == asynq.TaskStateActive:
			return false, true, nil
		}
		// It left the active state between the two calls: try again.
	}
	return false, false, fmt.Errorf("delete task %s in queue %s: it kept changing state", id, queue)
}
