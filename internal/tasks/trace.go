package tasks

import (
	"context"

	"github.com/hibiken/asynq"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
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

// Attributes of the spans of a batch, on the producer's side and the
// worker's.
const (
	AttrRunID    = attribute.Key("bitqueue.run_id")
	AttrSeq      = attribute.Key("bitqueue.seq")
	AttrIntegers = attribute.Key("bitqueue.integers")
	AttrMisses   = attribute.Key("bitqueue.misses")
	AttrBytes    = attribute.Key("bitqueue.bytes")
	// After OpenTelemetry's messaging conventions.
	AttrSystem    = attribute.Key("messaging.system")
	AttrQueue     = attribute.Key("messaging.destination.name")
	AttrTaskID    = attribute.Key("messaging.message.id")
	AttrOperation = attribute.Key("messaging.operation.type")
	AttrRetry     = attribute.Key("bitqueue.retry")
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
	attrs := []attribute.KeyValue{AttrSystem.String("asynq"), AttrOperation.String("process")}
	if id, ok := asynq.GetTaskID(ctx); ok {
		attrs = append(attrs, AttrTaskID.String(id))
	}
	if q, ok := asynq.GetQueueName(ctx); ok {
		attrs = append(attrs, AttrQueue.String(q))
	}
	if n, ok := asynq.GetRetryCount(ctx); ok {
		attrs = append(attrs, AttrRetry.Int(n))
	}
	return tracer.Start(ctx, SpanBatch, trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(attrs...))
}
