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
	"bitqueue/internal/results"
	"bitqueue/internal/tasks"
)

// Producer enqueues runs and waits for their results.
type Producer struct {
	Client    *asynq.Client
	Inspector *asynq.Inspector
	Store     *results.Store
	Queue     string
	BatchSize int
	MaxRetry  int
	// Concurrency is the number of enqueues in flight at once.
	Concurrency int
	Logger      *slog.Logger
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
// number of integers src holds (see Count).
func (p *Producer) Enqueue(ctx context.Context, runID string, src input.Source, total uint64) (EnqueueStats, error) {
	st := EnqueueStats{Batches: Batches(total, p.BatchSize)}
	seqs := make([]uint64, st.Batches)
	for i := range seqs {
		seqs[i] = uint64(i)
	}
	done, err := p.Store.Exist(ctx, runID, seqs)
	if err != nil {
		return st, fmt.Errorf("check existing results: %w", err)
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	work := make(chan *asynq.Task, 2*p.Concurrency)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range max(p.Concurrency, 1) {
		wg.Go(func() {
			for t := range work {
				_, err := p.Client.EnqueueContext(ctx, t, asynq.Queue(p.Queue), asynq.MaxRetry(p.MaxRetry))
				mu.Lock()
				switch {
				case err == nil:
					st.Enqueued++
				case errors.Is(err, asynq.ErrTaskIDConflict):
					st.Queued++
				default:
					cancel(fmt.Errorf("enqueue: %w", err))
				}
				mu.Unlock()
			}
		})
	}
	readErr := p.each(ctx, runID, src, func(b tasks.Batch) error {
		if done[b.Seq] {
			st.Done++
			return nil
		}
		t, err := tasks.NewBitsTask(b)
		if err != nil {
			return err
		}
		select {
		case work <- t:
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}, true)
	close(work)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return st, err
	}
	return st, readErr
}

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
// batches are missing) when ctx ends first.
func (p *Producer) Wait(ctx context.Context, runID string, batches int, progress io.Writer) error {
	pending := make([]uint64, batches)
	for i := range pending {
		pending[i] = uint64(i)
	}
	start := time.Now()
	poll := time.NewTicker(50 * time.Millisecond)
	defer poll.Stop()
	lastReport, lastArchiveCheck := time.Now(), time.Time{}
	for {
		exist, err := p.Store.Exist(ctx, runID, pending)
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
			if err := p.checkArchived(ctx, runID, pending); err != nil {
				return err
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
// in the queue's archive.
func (p *Producer) checkArchived(ctx context.Context, runID string, pending []uint64) error {
	info, err := QueueInfo(p.Inspector, p.Queue)
	if err != nil {
		return err
	}
	if info.Archived == 0 {
		return nil
	}
	want := make(map[string]bool, len(pending))
	for _, seq := range pending {
		want[tasks.TaskID(runID, seq)] = true
	}
	var failed FailedError
	for page := 1; ; page++ {
		list, err := p.Inspector.ListArchivedTasks(p.Queue, asynq.PageSize(1000), asynq.Page(page))
		if err != nil {
			return fmt.Errorf("list archived tasks of %s: %w", p.Queue, err)
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
			break
		}
	}
	if len(failed.IDs) > 0 {
		return &failed
	}
	return nil
}

// WriteOut writes one line per input integer, in input order,
// "<n>\t<bitstring>", reading the bitstrings from the run's results. A result
// whose row does not hold the input integer is an error.
func (p *Producer) WriteOut(ctx context.Context, runID string, src input.Source, w io.Writer) error {
	line := make([]byte, 0, 128)
	return p.each(ctx, runID, src, func(b tasks.Batch) error {
		r, err := p.Store.Load(ctx, runID, b.Seq)
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
