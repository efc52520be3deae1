package tasks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/hibiken/asynq"

	"bitqueue/internal/base"
	"bitqueue/internal/cache"
)

// ResultStore keeps the result of batch seq of a run. Saving the same result
// twice must leave the same state as saving it once. r.Bits belongs to the
// caller again once Save returns: a store must copy what it keeps.
type ResultStore interface {
	Save(ctx context.Context, runID string, seq uint64, r base.Result) error
}

// BitsHandler processes base.TypeBits tasks: it converts the batch with Cache and
// saves the packed result to Store. It holds no other state than its
// dependencies and reusable buffers, and is safe for concurrent use.
type BitsHandler struct {
	Cache  *cache.Cache
	Store  ResultStore
	Logger *slog.Logger
	// Observe, when set, is called after each batch with its outcome.
	Observe func(Outcome)

	bufs sync.Pool // of *buffers
}

// Outcome describes one processed batch.
type Outcome struct {
	Count  int   // integers in the batch (0 when the payload was malformed)
	Misses int   // integers outside the cache
	Err    error // nil on success
}

type buffers struct {
	batch base.Batch
	bits  []byte
}

// ProcessTask converts one batch and stores its result. A malformed payload,
// and a payload whose run id and seq disagree with the task id
// ("<run-id>:<seq>", when ctx carries one, as asynq's does), are permanent
// failures (wrapped in asynq.SkipRetry) whose error names what is wrong; the
// worker logs every permanent failure at error level with its task id. A
// failed write is returned for asynq to retry.
func (h *BitsHandler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	if t.Type() != base.TypeBits {
		return h.done(Outcome{Err: fmt.Errorf("task type %q, want %q: %w", t.Type(), base.TypeBits, asynq.SkipRetry)})
	}
	b, _ := h.bufs.Get().(*buffers)
	if b == nil {
		b = new(buffers)
	}
	defer h.bufs.Put(b)
	if err := base.DecodeBatch(&b.batch, t.Payload()); err != nil {
		// Debug only: the worker logs every failure once, at error level
		// for a permanent one, with this error and the task id.
		id, _ := asynq.GetTaskID(ctx)
		h.Logger.Debug("rejected malformed batch", "task_id", id, "err", err)
		return h.done(Outcome{Err: fmt.Errorf("%w: %w", err, asynq.SkipRetry)})
	}
	if id, ok := asynq.GetTaskID(ctx); ok && !base.IsTaskID(id, b.batch.RunID, b.batch.Seq) {
		// Its result would land under another batch's key: never run it.
		return h.done(Outcome{Err: fmt.Errorf("task id %s disagrees with its payload's batch %s: %w", id, base.TaskID(b.batch.RunID, b.batch.Seq), asynq.SkipRetry)})
	}
	r, misses := Pack(h.Cache, b.batch.Nums, b.bits)
	b.bits = r.Bits[:cap(r.Bits)]
	err := h.Store.Save(ctx, b.batch.RunID, b.batch.Seq, r)
	if err != nil {
		err = fmt.Errorf("batch %s: save result: %w", base.TaskID(b.batch.RunID, b.batch.Seq), err)
	}
	if h.Logger.Enabled(ctx, slog.LevelDebug) { // spare the id's allocation otherwise
		h.Logger.Debug("batch done", "task_id", base.TaskID(b.batch.RunID, b.batch.Seq), "count", r.Count, "width", r.Width, "misses", misses, "err", err)
	}
	return h.done(Outcome{Count: r.Count, Misses: misses, Err: err})
}

func (h *BitsHandler) done(o Outcome) error {
	if h.Observe != nil {
		h.Observe(o)
	}
	return o.Err
}

// IsPermanent reports whether err is a failure that retrying cannot fix.
func IsPermanent(err error) bool { return errors.Is(err, asynq.SkipRetry) }
