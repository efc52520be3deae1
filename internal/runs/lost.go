package runs

import (
	"bitqueue/internal/base"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/hibiken/asynq"

	"bitqueue/internal/input"
	"bitqueue/internal/outage"
	"bitqueue/internal/results"
	"bitqueue/internal/tasks"
)

// LostBatches returns the seqs of rec's lost batches, in order: no done
// mark, no result, and no task that can still run (none in any asynq state,
// or one kept as completed whose result is gone). Archived batches are not
// lost (Requeue sends them back), nor are batches still queued. A batch found
// with a result but no mark gets its mark and is not lost. It reads the done
// bitmap, looks up the task of each batch not done, then reads the bitmap and
// the results of the candidates again, so that a batch finishing meanwhile is
// not reported.
func LostBatches(ctx context.Context, store *results.Store, insp *asynq.Inspector, rec Record) ([]uint64, error) {
	b, err := assess(ctx, store, insp, rec)
	if err != nil {
		return nil, err
	}
	return b.of(BatchLost), nil
}

// EnqueueLost enqueues again the batches seqs of rec's run (its lost
// batches: see LostBatches), reading their integers from src, and returns
// their task ids, by seq. The tasks are those the run's producer made: the
// same task ids and payloads, on the queue (or shard of the queue) of the
// record, with p's MaxRetry, TaskTimeout and Retention. p's Queue, Shards and
// BatchSize are not used: the record's are.
//
// src must be the run's input: its identity and count must be the record's,
// or EnqueueLost returns a *MismatchError and enqueues nothing (a
// *DeletedError for a deleted run). A batch whose task id is taken by a task
// that can run (another producer enqueued it meanwhile) is left alone and not
// returned; one taken by a task kept as completed (--retention), whose result
// is gone, has that task deleted and is enqueued. It rides out a Redis
// outage of up to RedisWait; it stops at the first other error, returning
// the ids enqueued so far.
func (p *Producer) EnqueueLost(ctx context.Context, rec Record, src input.Source, seqs []uint64) ([]string, error) {
	if rec.State == StateDeleted {
		return nil, &DeletedError{RunID: rec.RunID}
	}
	identity, err := src.Identity()
	if err != nil {
		return nil, err
	}
	total, err := input.Count(src)
	if err != nil {
		return nil, err
	}
	given := rec.Fingerprint()
	given.Input, given.Integers = identity, total
	if err := rec.Fingerprint().Compare(rec.RunID, given); err != nil {
		return nil, err
	}
	if len(seqs) == 0 {
		return nil, nil
	}
	seqs = slices.Sorted(slices.Values(seqs))
	if last := seqs[len(seqs)-1]; last >= uint64(rec.Batches) {
		return nil, fmt.Errorf("run %s has %d batches: no batch %d", rec.RunID, rec.Batches, last)
	}

	opts := []asynq.Option{asynq.MaxRetry(p.MaxRetry)}
	if p.TaskTimeout > 0 {
		opts = append(opts, asynq.Timeout(p.TaskTimeout))
	}
	if p.Retention > 0 {
		opts = append(opts, asynq.Retention(p.Retention))
	}
	o := outage.New(p.RedisWait, p.Logger)
	s, err := src.Open()
	if err != nil {
		return nil, err
	}
	defer s.Close()
	guard := watchRecord(ctx, p.Store, rec.RunID, p.RedisWait)
	defer guard.stop()
	var enqueued []string
	defer func() { wakeFor(ctx, p.Store, len(enqueued)) }()
	buf := make([]uint64, rec.BatchSize)
	var nums []uint64 // the integers of batch next-1
	next := uint64(0) // seq of the batch s reads next
	for _, seq := range seqs {
		for ; next <= seq; next++ {
			n, err := readBatch(s, buf)
			if err != nil {
				return enqueued, err
			}
			if n == 0 {
				return enqueued, fmt.Errorf("%s: ended at batch %d of the %d of run %s", src.Name(), next, rec.Batches, rec.RunID)
			}
			nums = buf[:n]
		}
		id := base.TaskID(rec.RunID, seq)
		queue := base.QueueOf(rec.Queue, rec.Shards, id)
		t, err := tasks.NewBitsTask(base.Batch{RunID: rec.RunID, Seq: seq, Nums: nums}, append([]asynq.Option{asynq.Queue(queue)}, opts...)...)
		if err != nil {
			return enqueued, err
		}
		if err := guard.live(ctx); err != nil {
			return enqueued, err
		}
		var sent bool
		attempts := 0
		err = o.Do(ctx, "enqueue "+id, func() (err error) {
			attempts++
			sent, err = p.enqueueFreeing(ctx, queue, id, t)
			// A task found queued after an attempt cut short by an outage
			// is most likely that attempt's, which went through.
			sent = sent || (err == nil && attempts > 1)
			return err
		})
		switch {
		case err != nil && outage.IsOutOfMemory(err):
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
func (p *Producer) enqueueFreeing(ctx context.Context, queue, id string, t *asynq.Task) (bool, error) {
	for range 3 {
		_, err := p.Client.EnqueueContext(ctx, t)
		if !errors.Is(err, asynq.ErrTaskIDConflict) {
			return err == nil, err
		}
		info, err := p.Inspector.GetTaskInfo(queue, id)
		switch {
		case errors.Is(err, asynq.ErrTaskNotFound):
			continue // gone meanwhile: try again
		case err != nil:
			return false, fmt.Errorf("look up task %s in queue %s: %w", id, queue, err)
		case info.State != asynq.TaskStateCompleted:
			return false, nil
		}
		if err := p.Inspector.DeleteTask(queue, id); err != nil && !errors.Is(err, asynq.ErrTaskNotFound) {
			return false, fmt.Errorf("delete completed task %s of queue %s: %w", id, queue, err)
		}
	}
	return false, fmt.Errorf("task id %s of queue %s: taken again after each of 3 attempts", id, queue)
}
