package runs

import (
	"context"
	"errors"
	"fmt"

	"github.com/hibiken/asynq"

	"bitqueue/internal/base"
	"bitqueue/internal/input"
	"bitqueue/internal/rdb"
	"bitqueue/internal/tasks"
)

// Requeued is what Requeue did to a run, the producer's requeue output in
// JSON as in text.
type Requeued struct {
	RunID    string   `json:"run_id"`
	Queue    string   `json:"queue"`
	Failed   []string `json:"requeued"`      // failed batches sent back, task ids by seq
	Lost     int      `json:"lost"`          // lost batches found
	Enqueued []string `json:"enqueued_lost"` // lost batches enqueued again, task ids by seq

	shards int // of the run's queue, for WriteText
}

// Requeue repairs rec's run. It sends the run's failed batches (asynq
// archived them) back to their queue, where they are pending again, each
// with one more attempt (asynq keeps its retry count); and it enqueues the
// run's lost batches again, as its producer made them: the same task ids
// and payloads, on the record's queue or shard queue, with the service's
// task options, their integers read from src. src must be the run's input:
// its identity and count must be the record's, or Requeue enqueues nothing
// lost and returns a *MismatchError. A nil src is the run's own random
// integers, drawn again from the seed its record holds; for a run of a file
// or stdin it is an *InputNeededError, the failed batches sent back all the
// same. A deleted run is a *DeletedError, nothing done.
//
// A lost batch whose task id is taken meanwhile by a task that can run
// (another producer enqueued it) is left alone; one taken by a task kept as
// completed (--retention), whose result is gone, has that task deleted and
// is enqueued. Idle workers are woken. It rides out a Redis outage of up to
// RedisWait, and stops at the first other error, returning what it did.
func (s *Service) Requeue(ctx context.Context, rec base.Record, src input.Source) (Requeued, error) {
	out := Requeued{RunID: rec.RunID, Queue: rec.Queue, Failed: []string{}, Enqueued: []string{}, shards: rec.Shards}
	if rec.Deleted {
		return out, &DeletedError{RunID: rec.RunID}
	}
	if src == nil {
		if random, ok := input.FromIdentity(rec.Input); ok {
			src = random
		}
	} else if err := s.checkInput(rec, src); err != nil {
		return out, err
	}
	var b batches
	err := s.rider.Do(ctx, "read the run's batches", func() (err error) {
		b, err = s.assess(ctx, rec)
		return err
	})
	if err != nil {
		return out, err
	}
	defer func() { s.wakeFor(ctx, len(out.Failed)+len(out.Enqueued)) }()
	var errs []error
	for i, info := range b.infos {
		if b.states[i] != BatchFailed {
			continue
		}
		switch err := s.RDB.Inspector().RunTask(info.Queue, info.ID); {
		case err == nil:
			out.Failed = append(out.Failed, info.ID)
		case errors.Is(err, asynq.ErrTaskNotFound): // left the archive meanwhile
		default:
			errs = append(errs, fmt.Errorf("requeue %s: %w", info.ID, err))
		}
	}
	lost := b.of(BatchLost)
	out.Lost = len(lost)
	switch {
	case len(lost) == 0:
	case src == nil:
		errs = append(errs, &InputNeededError{RunID: rec.RunID, Lost: len(lost)})
	default:
		var err error
		out.Enqueued, err = s.enqueueLost(ctx, rec, src, lost)
		errs = append(errs, err)
	}
	return out, errors.Join(errs...)
}

// checkInput returns a *MismatchError when src is not the input of rec's
// run (its identity and count).
func (s *Service) checkInput(rec base.Record, src input.Source) error {
	identity, err := src.Identity()
	if err != nil {
		return err
	}
	total, err := input.Count(src)
	if err != nil {
		return err
	}
	given := fingerprintOf(rec)
	given.Input, given.Integers = identity, total
	return fingerprintOf(rec).Compare(rec.RunID, given)
}

// enqueueLost enqueues again the batches seqs of rec's run, by seq, their
// integers read from src, and returns their task ids.
func (s *Service) enqueueLost(ctx context.Context, rec base.Record, src input.Source, seqs []uint64) ([]string, error) {
	stream, err := src.Open()
	if err != nil {
		return nil, err
	}
	defer stream.Close()
	guard := s.watchRecord(ctx, rec.RunID)
	defer guard.stop()
	opts := s.taskOptions()
	buf := make([]uint64, rec.BatchSize)
	var nums []uint64 // the integers of batch next-1
	enqueued := []string{}
	next := uint64(0) // seq of the batch stream reads next
	for _, seq := range seqs {
		for ; next <= seq; next++ {
			n, err := readBatch(stream, buf)
			if err != nil {
				return enqueued, err
			}
			if n == 0 {
				return enqueued, fmt.Errorf("%s: ended at batch %d of the %d of run %s", src.Name(), next, rec.Batches, rec.RunID)
			}
			nums = buf[:n]
		}
		if err := guard.live(ctx); err != nil {
			return enqueued, err
		}
		id := base.TaskID(rec.RunID, seq)
		queue := queueOf(rec, seq)
		t, err := tasks.NewBitsTaskWithContext(ctx, base.Batch{RunID: rec.RunID, Seq: seq, Nums: nums}, append([]asynq.Option{asynq.Queue(queue)}, opts...)...)
		if err != nil {
			return enqueued, err
		}
		var sent bool
		attempts := 0
		err = s.rider.Do(ctx, "enqueue "+id, func() (err error) {
			attempts++
			sent, err = s.enqueueFreeing(ctx, queue, id, t)
			// A task found queued after an attempt cut short by an outage
			// is most likely that attempt's, which went through.
			sent = sent || (err == nil && attempts > 1)
			return err
		})
		switch {
		case err != nil && rdb.IsOutOfMemory(err):
			return enqueued, fmt.Errorf("%w: enqueued %d of the %d lost batches of run %s again; free memory or raise maxmemory, then requeue again (redis: %v)",
				ErrOutOfMemory, len(enqueued), len(seqs), rec.RunID, err)
		case err != nil:
			return enqueued, fmt.Errorf("enqueue %s: %w", id, err)
		case sent:
			enqueued = append(enqueued, id)
		}
	}
	return enqueued, nil
}

// enqueueFreeing enqueues t, the task of batch id, on queue and reports
// whether it did. When id is taken by a task kept as completed, it deletes
// that task and enqueues t; when it is taken by a task that can still run,
// it leaves it.
func (s *Service) enqueueFreeing(ctx context.Context, queue, id string, t *asynq.Task) (bool, error) {
	insp := s.RDB.Inspector()
	for range 3 {
		_, err := s.RDB.Enqueue(ctx, t)
		if !errors.Is(err, asynq.ErrTaskIDConflict) {
			return err == nil, err
		}
		info, err := insp.GetTaskInfo(queue, id)
		switch {
		case errors.Is(err, asynq.ErrTaskNotFound):
			continue // gone meanwhile: try again
		case err != nil:
			return false, fmt.Errorf("look up task %s in queue %s: %w", id, queue, err)
		case info.State != asynq.TaskStateCompleted:
			return false, nil
		}
		if err := insp.DeleteTask(queue, id); err != nil && !errors.Is(err, asynq.ErrTaskNotFound) {
			return false, fmt.Errorf("delete completed task %s of queue %s: %w", id, queue, err)
		}
	}
	return false, fmt.Errorf("task id %s of queue %s: taken again after each of 3 attempts", id, queue)
}
