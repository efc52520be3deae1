package tasks

import (
	"context"

	"github.com/hibiken/asynq"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"bitqueue/internal/tracing"
)

// The spans of a traced batch on the worker: SpanBatch, in the trace of the
// producer's enqueue when the task carries one, and its children, one per
// step of ProcessTask.
const (
	SpanBatch   = "process batch"
	SpanDecode  = "decode"
	SpanConvert = "convert"
	SpanSave    = "save"
)

// traceContext is the one propagation bitqueue's tasks know: W3C trace
// context, in the headers traceparent and tracestate.
var traceContext propagation.TraceContext

// traceHeaders returns the headers that carry ctx's span to a worker, or nil
// when ctx holds none.
func traceHeaders(ctx context.Context) map[string]string {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return nil
	}
	h := propagation.MapCarrier{}
	traceContext.Inject(ctx, h)
	return h
}

// startBatch starts the span of processing t, a child of the span t's
// headers carry when they carry one.
func startBatch(ctx context.Context, tracer trace.Tracer, t *asynq.Task) (context.Context, trace.Span) {
	if h := t.Headers(); len(h) > 0 {
		ctx = traceContext.Extract(ctx, propagation.MapCarrier(h))
	}
	attrs := []attribute.KeyValue{tracing.AttrSystem.String("asynq"), tracing.AttrOperation.String("process")}
	if id, ok := asynq.GetTaskID(ctx); ok {
		attrs = append(attrs, tracing.AttrTaskID.String(id))
	}
	if q, ok := asynq.GetQueueName(ctx); ok {
		attrs = append(attrs, tracing.AttrQueue.String(q))
	}
	if n, ok := asynq.GetRetryCount(ctx); ok {
		attrs = append(attrs, tracing.AttrRetry.Int(n))
	}
	return tracer.Start(ctx, SpanBatch, trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(attrs...))
}
