package runs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"bitqueue/internal/input"
	"bitqueue/internal/outage"
	"bitqueue/internal/results"
	"bitqueue/internal/tasks"
)

// Producer enqueues runs and waits for their results.
type Producer struct {
	Client    *asynq.Client
	Inspector *asynq.Inspector
	Store     *results.Store
	Queue     string
	// Shards, when above 1, spreads the batches over the queues Queue-0 …
	// Queue-(Shards-1): see QueueOf.
	Shards    int
	BatchSize int
	MaxRetry  int
	// Concurrency is the number of enqueues in flight at once.
	Concurrency int
	// TaskTimeout, when positive, is how long a worker may spend on one
	// batch: asynq cancels the handler's context then and retries the batch.
	TaskTimeout time.Duration
	// Retention, when positive, is how long asynq keeps a finished batch's
	// task, so that its task id still refuses a second enqueue of the batch
	// after it is done (a replica that saw no result yet, a re-run).
	Retention time.Duration
	// RedisWait bounds how long a Redis outage is ridden out, with backoff,
	// before Enqueue, Wait or WriteOut give up (outage.DefaultBound).
	RedisWait time.Duration
	Logger    *slog.Logger
	// RecordTTL is how long the run's record (see Record) is kept
	// (results.DefaultTTL).
	RecordTTL time.Duration
}

// EnqueueStats counts what Enqueue did with each batch of a run.
type EnqueueStats struct {
	Batches  int // batches in the run
	Enqueued int // newly enqueued
	Queued   int // already enqueued and not yet done: left alone
	Done     int // already holding a result: left alone
}

// Enqueue sends every batch of the run that has neither a result nor a task
// in Redis yet, so that running it again enqueues nothing twice. total is the
// number of integers src holds (see Count). It rides out a Redis outage of up
// to RedisWait; when Redis is out of memory it stops at once with an error
// wrapping ErrOutOfMemory, leaving what it enqueued in the queue.
func (p *Producer) Enqueue(ctx context.Context, runID string, src input.Source, total uint64) (EnqueueStats, error) {
	st := EnqueueStats{Batches: Batches(total, p.BatchSize)}
	o := outage.New(p.RedisWait, p.Logger)
	if err := o.Do(ctx, "save run record", func() error { return p.saveRecord(ctx, runID, total, st.Batches) }); err != nil {
		if outage.IsOutOfMemory(err) {
			return st, fmt.Errorf("%w: nothing of run %s was enqueued; free memory or raise maxmemory, then run again (redis: %v)", ErrOutOfMemory, runID, err)
		}
		return st, err
	}

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
	work := make(chan *asynq.Task, 2*p.Concurrency)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range max(p.Concurrency, 1) {
		wg.Go(func() {
			for t := range work {
				if feed.Err() != nil {
					continue // stopping: drain without enqueueing
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
	// Batches are checked for a result in chunks, just before they are
	// enqueued, so that a re-run while workers are busy does not enqueue
	// again a batch that was finished a moment before.
	chunk := make([]tasks.Batch, 0, existChunk)
	seqs := make([]uint64, 0, existChunk)
	flush := func() error {
		seqs = seqs[:0]
		for _, b := range chunk {
			seqs = append(seqs, b.Seq)
		}
		var done []bool
		err := o.Do(feed, "check existing results", func() (err error) {
			done, err = p.Store.Exist(ctx, runID, seqs)
			return err
		})
		if err != nil {
			return fmt.Errorf("check existing results: %w", err)
		}
		for i, b := range chunk {
			if done[i] {
				mu.Lock()
				st.Done++
				mu.Unlock()
				continue
			}
			t, err := tasks.NewBitsTask(b, asynq.Queue(p.QueueOf(runID, b.Seq)))
			if err != nil {
				return err
			}
			select {
			case work <- t:
			case <-feed.Done():
				return context.Cause(feed)
			}
		}
		chunk = chunk[:0]
		return nil
	}
	readErr := p.each(feed, runID, src, func(b tasks.Batch) error {
		if chunk = append(chunk, b); len(chunk) == existChunk {
			return flush()
		}
		return nil
	}, true)
	if readErr == nil && len(chunk) > 0 {
		readErr = flush()
	}
	close(work)
	wg.Wait()
	var oom errOutOfMemory
	if err := context.Cause(feed); errors.As(err, &oom) {
		return st, fmt.Errorf("%w: %d of the %d batches of run %s are queued (%d by this run, %d before) and stay queued, %d have results; free memory or raise maxmemory, then run again with --run-id %s to enqueue the rest (redis: %v)",
			ErrOutOfMemory, st.Enqueued+st.Queued, st.Batches, runID, st.Enqueued, st.Queued, st.Done, runID, oom.err)
	} else if err != nil {
		return st, err
	}
	return st, readErr
}

// existChunk is how many batches Enqueue checks for results in one round
// trip, just before enqueueing those that have none.
const existChunk = 256

// each reads src from the start and calls fn with each batch in order. With
// fresh, each batch gets its own storage (fn may keep it); otherwise one
// buffer is reused.
func (p *Producer) each(ctx context.Context, runID string, src input.Source, fn func(tasks.Batch) error, fresh bool) error {
	s, err := src.Open()
	if err != nil {
		return err
	}
	defer s.Close()
	buf := make([]uint64, p.BatchSize)
	for seq := uint64(0); ; seq++ {
		if fresh {
			buf = make([]uint64, p.BatchSize)
		}
		n, err := readBatch(s, buf)
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(tasks.Batch{RunID: runID, Seq: seq, Nums: buf[:n]}); err != nil {
			return err
		}
	}
}

// FailedError reports batches that failed permanently (asynq archived them).
type FailedError struct {
	IDs    []string // task ids, "<run-id>:<seq>"
	Reason string   // the last error of the first of them
}

func (e *FailedError) Error() string {
	return fmt.Sprintf("%d batch(es) failed permanently: %s (last error: %s)", len(e.IDs), strings.Join(e.IDs, ", "), e.Reason)
}

// Wait polls Redis until every one of the run's batches has a result, writing
// progress to progress about once a second. It returns a *FailedError as soon
// as a batch of the run has been archived, and ctx's error (with how many
// batches are missing) when ctx ends first. It rides out a Redis outage of up
// to RedisWait (a restart, a failover), logging one line when the outage
// begins and one when it ends.
func (p *Producer) Wait(ctx context.Context, runID string, batches int, progress io.Writer) error {
	o := outage.New(p.RedisWait, p.Logger)
	pending := make([]uint64, batches)
	for i := range pending {
		pending[i] = uint64(i)
	}
	start := time.Now()
	poll := time.NewTicker(50 * time.Millisecond)
	defer poll.Stop()
	lastReport, lastArchiveCheck := time.Now(), time.Time{}
	for {
		var exist []bool
		err := o.Do(ctx, "wait for results", func() (err error) {
			exist, err = p.Store.Exist(ctx, runID, pending)
			return err
		})
		if err != nil {
			if ctx.Err() != nil {
				return p.waitErr(ctx, runID, batches, pending)
			}
			return fmt.Errorf("wait for results: %w", err)
		}
		left := pending[:0]
		for i, seq := range pending {
			if !exist[i] {
				left = append(left, seq)
			}
		}
		pending = left
		if len(pending) == 0 {
			fmt.Fprintf(progress, "run %s: %d/%d batches done in %s\n", runID, batches, batches, time.Since(start).Round(time.Millisecond))
			return nil
		}
		if time.Since(lastArchiveCheck) >= time.Second {
			lastArchiveCheck = time.Now()
			var failed *FailedError
			err := o.Do(ctx, "check for failed batches", func() error {
				err := p.checkArchived(ctx, runID, pending)
				if errors.As(err, &failed) {
					return nil // a finding, not a Redis error
				}
				return err
			})
			switch {
			case err != nil && ctx.Err() != nil:
				return p.waitErr(ctx, runID, batches, pending)
			case err != nil:
				return err
			case failed != nil:
				return failed
			}
		}
		if time.Since(lastReport) >= time.Second {
			lastReport = time.Now()
			fmt.Fprintf(progress, "run %s: %d/%d batches done\n", runID, batches-len(pending), batches)
		}
		select {
		case <-ctx.Done():
			return p.waitErr(ctx, runID, batches, pending)
		case <-poll.C:
		}
	}
}

func (p *Producer) waitErr(ctx context.Context, runID string, batches int, pending []uint64) error {
	return fmt.Errorf("%w: %d of %d batches have no result yet (first: %s)", context.Cause(ctx), len(pending), batches, tasks.TaskID(runID, pending[0]))
}

// checkArchived returns a *FailedError when any pending batch of the run is
// in the archive of its queue.
func (p *Producer) checkArchived(ctx context.Context, runID string, pending []uint64) error {
	want := make(map[string]bool, len(pending))
	for _, seq := range pending {
		want[tasks.TaskID(runID, seq)] = true
	}
	var failed FailedError
	for _, q := range p.Queues() {
		if err := p.archivedIn(ctx, q, want, &failed); err != nil {
			return err
		}
	}
	if len(failed.IDs) > 0 {
		return &failed
	}
	return nil
}

// archivedIn adds to failed the tasks of want archived in queue.
func (p *Producer) archivedIn(ctx context.Context, queue string, want map[string]bool, failed *FailedError) error {
	info, err := QueueInfo(p.Inspector, queue)
	if err != nil {
		return err
	}
	if info.Archived == 0 {
		return nil
	}
	for page := 1; ; page++ {
		list, err := p.Inspector.ListArchivedTasks(queue, asynq.PageSize(1000), asynq.Page(page))
		if err != nil {
			return fmt.Errorf("list archived tasks of %s: %w", queue, err)
		}
		for _, t := range list {
			if want[t.ID] {
				failed.IDs = append(failed.IDs, t.ID)
				if failed.Reason == "" {
					failed.Reason = t.LastErr
				}
			}
		}
		if len(list) < 1000 || ctx.Err() != nil {
			return nil
		}
	}
}

// WriteOut writes one line per input integer, in input order,
// "<n>\t<bitstring>", reading the bitstrings from the run's results. A result
// whose row does not hold the input integer is an error.
func (p *Producer) WriteOut(ctx context.Context, runID string, src input.Source, w io.Writer) error {
	line := make([]byte, 0, 128)
	o := outage.New(p.RedisWait, p.Logger)
	return p.each(ctx, runID, src, func(b tasks.Batch) error {
		var r tasks.Result
		err := o.Do(ctx, "read results", func() (err error) {
			r, err = p.Store.Load(ctx, runID, b.Seq)
			return err
		})
		if err != nil {
			return err
		}
		if r.Count != len(b.Nums) {
			return fmt.Errorf("batch %s: result holds %d integers, input has %d", tasks.TaskID(runID, b.Seq), r.Count, len(b.Nums))
		}
		for i, n := range b.Nums {
			row := r.Row(i)
			if row != n {
				return fmt.Errorf("batch %s: result row %d holds %d, input has %d", tasks.TaskID(runID, b.Seq), i, row, n)
			}
			line = strconv.AppendUint(line[:0], n, 10)
			line = append(line, '\t')
			line = strconv.AppendUint(line, row, 2)
			line = append(line, '\n')
			if _, err := w.Write(line); err != nil {
				return err
			}
		}
		return nil
	}, false)
}

// QueueInfo returns the state of queue, all zero when the queue does not
// exist yet (asynq reports that as an error of its own internal kind).
func QueueInfo(insp *asynq.Inspector, queue string) (*asynq.QueueInfo, error) {
	info, err := insp.GetQueueInfo(queue)
	if err == nil {
		return info, nil
	}
	queues, qerr := insp.Queues()
	if qerr == nil && !slices.Contains(queues, queue) {
		return &asynq.QueueInfo{Queue: queue}, nil
	}
	return nil, fmt.Errorf("inspect queue %s: %w", queue, err)
}
