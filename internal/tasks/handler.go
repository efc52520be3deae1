package tasks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/hibiken/asynq"
	"go.opentelemetry.io/otel/trace"

	"bitqueue/internal/base"
	"bitqueue/internal/cache"
	"bitqueue/internal/tracing"
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
	// Tracer, when set, traces each batch: a span (SpanBatch) in the trace
	// the task's headers carry, if any, with a child span per step
	// (SpanDecode, SpanConvert, SpanSave). Unset, as when tracing is off,
	// the handler starts no span and does nothing more than without it.
	Tracer trace.Tracer

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
	if h.Tracer == nil {
		return h.process(ctx, t, nil)
	}
	ctx, span := startBatch(ctx, h.Tracer, t)
	err := h.process(ctx, t, span)
	tracing.End(span, err)
	return err
}

// process is ProcessTask within span, the batch's span when it is traced,
// nil otherwise.
func (h *BitsHandler) process(ctx context.Context, t *asynq.Task, span trace.Span) error {
	if t.Type() != base.TypeBits {
		return h.done(Outcome{Err: fmt.Errorf("task type %q, want %q: %w", t.Type(), base.TypeBits, asynq.SkipRetry)})
	}
	b, _ := h.bufs.Get().(*buffers)
	if b == nil {
		b = new(buffers)
	}
	defer h.bufs.Put(b)
	_, step := h.step(ctx, span, SpanDecode)
	if err := base.DecodeBatch(&b.batch, t.Payload()); err != nil {
		endStep(step, err)
		// Debug only: the worker logs every failure once, at error level
		// for a permanent one, with this error and the task id.
		id, _ := asynq.GetTaskID(ctx)
		h.Logger.Debug("rejected malformed batch", "task_id", id, "err", err)
		return h.done(Outcome{Err: fmt.Errorf("%w: %w", err, asynq.SkipRetry)})
	}
	if id, ok := asynq.GetTaskID(ctx); ok && !base.IsTaskID(id, b.batch.RunID, b.batch.Seq) {
		// Its result would land under another batch's key: never run it.
		err := fmt.Errorf("task id %s disagrees with its payload's batch %s: %w", id, base.TaskID(b.batch.RunID, b.batch.Seq), asynq.SkipRetry)
		endStep(step, err)
		return h.done(Outcome{Err: err})
	}
	endStep(step, nil)
	if span != nil {
		span.SetAttributes(tracing.AttrRunID.String(b.batch.RunID), tracing.AttrSeq.Int64(int64(b.batch.Seq)), tracing.AttrIntegers.Int(len(b.batch.Nums)))
	}

	_, step = h.step(ctx, span, SpanConvert)
	r, misses := Pack(h.Cache, b.batch.Nums, b.bits)
	b.bits = r.Bits[:cap(r.Bits)]
	if step != nil {
		step.SetAttributes(tracing.AttrMisses.Int(misses), tracing.AttrBytes.Int(len(r.Bits)))
		step.End()
	}

	sctx, step := h.step(ctx, span, SpanSave)
	err := h.Store.Save(sctx, b.batch.RunID, b.batch.Seq, r)
	endStep(step, err)
	if err != nil {
		err = fmt.Errorf("batch %s: save result: %w", base.TaskID(b.batch.RunID, b.batch.Seq), err)
	}
	if h.Logger.Enabled(ctx, slog.LevelDebug) { // spare the id's allocation otherwise
		h.Logger.Debug("batch done", "task_id", base.TaskID(b.batch.RunID, b.batch.Seq), "count", r.Count, "width", r.Width, "misses", misses, "err", err)
	}
	return h.done(Outcome{Count: r.Count, Misses: misses, Err: err})
}

// step starts the span of a step of a batch traced in span; for a batch not
// traced (span nil) it returns ctx and a nil span.
func (h *BitsHandler) step(ctx context.Context, span trace.Span, name string) (context.Context, trace.Span) {
	if span == nil {
		return ctx, nil
	}
	return h.Tracer.Start(ctx, name)
}

// endStep ends a step's span, if there is one, recording err.
func endStep(step trace.Span, err error) {
	if step != nil {
		tracing.End(step, err)
	}
}

func (h *BitsHandler) done(o Outcome) error {
	if h.Observe != nil {
		h.Observe(o)
	}
	return o.Err
}

// IsPermanent reports whether err is a failure that retrying cannot fix.
func IsPermanent(err error) bool { return errors.Is(err, asynq.SkipRetry) }
