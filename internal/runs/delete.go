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

	"bitqueue/internal/base"
)

// Deleted is what Delete removed, the producer's delete output in JSON as in
// text.
type Deleted struct {
	RunID   string        `json:"run_id"`
	Tasks   int           `json:"tasks_deleted"` // tasks deleted, in any state but active
	Results int           `json:"keys_deleted"`  // result keys and done bitmap deleted
	Active  []string      `json:"active"`        // task ids of batches being processed, left to finish
	TTL     time.Duration `json:"-"`             // how long the tombstone refuses the run id
}

// Delete deletes rec's run: it first turns the run's record into a tombstone
// (fingerprint kept, expiring after ttl, base.DefaultTTL when not positive),
// so that no producer enqueues the run again while it lives, and waits
// TombstoneSettle for producers enqueueing the run to stop; then deletes the
// run's tasks in every asynq state but active (one Inspector.DeleteTask per
// batch, in the batch's shard queue, looked up again when it changes state
// under it), its results and done bitmap. The run stays in the index of
// runs, listed as deleted, until its tombstone expires (List prunes it
// then). Active batches are left to finish and listed in Deleted.Active:
// they will write their results, which a second Delete removes.
func (s *Service) Delete(ctx context.Context, rec base.Record, ttl time.Duration) (Deleted, error) {
	out := Deleted{RunID: rec.RunID, Active: []string{}}
	if ttl <= 0 {
		ttl = base.DefaultTTL
	}
	out.TTL = ttl
	if err := s.RDB.Tombstone(ctx, rec.RunID, time.Now(), ttl); err != nil {
		return out, err
	}
	select {
	case <-time.After(TombstoneSettle):
	case <-ctx.Done():
		return out, ctx.Err()
	}
	var mu sync.Mutex
	insp := s.RDB.Inspector()
	err := forEach(ctx, rec.Batches, func(i int) error {
		id := base.TaskID(rec.RunID, uint64(i))
		deleted, active, err := deleteTask(insp, queueOf(rec, uint64(i)), id)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case deleted:
			out.Tasks++
		case active:
			out.Active = append(out.Active, id)
		}
		return err
	})
	slices.SortFunc(out.Active, func(a, b string) int {
		sa, _ := base.SeqOf(rec.RunID, a)
		sb, _ := base.SeqOf(rec.RunID, b)
		return cmp.Compare(sa, sb)
	})
	if err != nil {
		return out, err
	}
	if out.Results, err = s.RDB.DeleteRun(ctx, rec.RunID, rec.Batches); err != nil {
		return out, fmt.Errorf("delete results of run %s: %w", rec.RunID, err)
	}
	return out, nil
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
