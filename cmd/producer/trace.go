package main

import (
	"context"

	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"bitqueue/internal/base"
	"bitqueue/internal/runs"
	"bitqueue/internal/tracing"
)

// The producer's spans (docs/operations.md#tracing): a one-shot run, or a
// tick of --schedule, each the root of a trace of its own, and its steps.
// The tasks enqueued carry the enqueue span's context, under which the
// workers' spans of the batches go.
const (
	spanRun       = "producer run"
	spanTick      = "producer tick"
	spanEnqueue   = "enqueue"
	spanWait      = "wait"
	spanWriteRows = "write rows"
)

// startSpan starts span name with c's tracer, a no-op span when c has none
// (tracing is off).
func (c config) startSpan(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	t := c.tracer
	if t == nil {
		t = noop.NewTracerProvider().Tracer("")
	}
	return t.Start(ctx, name, opts...)
}

// enqueue is svc.Enqueue of spec as a span, whose context every task
// carries.
func (c config) enqueue(ctx context.Context, svc *runs.Service, spec runs.Spec) (base.Record, runs.EnqueueStats, error) {
	ctx, span := c.startSpan(ctx, spanEnqueue, trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(
		tracing.AttrSystem.String("asynq"), tracing.AttrOperation.String("send"), tracing.AttrQueue.String(spec.Queue),
		tracing.AttrRunID.String(spec.RunID)))
	rec, st, err := svc.Enqueue(ctx, spec)
	span.SetAttributes(tracing.AttrBatches.Int(st.Batches), tracing.AttrEnqueued.Int(st.Enqueued),
		tracing.AttrAlreadyQueued.Int(st.Queued), tracing.AttrAlreadyDone.Int(st.Done))
	tracing.End(span, err)
	return rec, st, err
}
