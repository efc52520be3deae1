package tasks_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"bitqueue/fixture"
	"bitqueue/internal/base"
	"bitqueue/internal/tasks"
	"bitqueue/internal/tracing"
)

// recorder returns a tracer whose spans, all sampled, end up in the returned
// recorder.
func recorder(t *testing.T) (trace.Tracer, *tracetest.SpanRecorder) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp.Tracer("test"), rec
}

// attrs returns the attributes of s by key.
func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

// byName returns the ended spans of rec by name, failing t if a name is
// there twice.
func byName(t *testing.T, rec *tracetest.SpanRecorder) map[string]sdktrace.ReadOnlySpan {
	t.Helper()
	m := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range rec.Ended() {
		require.NotContains(t, m, s.Name(), "one span %q", s.Name())
		m[s.Name()] = s
	}
	return m
}

func TestNewBitsTaskCarriesTraceContext(t *testing.T) {
	t.Parallel()
	tracer, _ := recorder(t)
	b := base.Batch{RunID: "run-1", Seq: 7, Nums: []uint64{1, 2, 3}}
	sampled, span := tracer.Start(context.Background(), "enqueue")
	defer span.End()
	sc := span.SpanContext()
	state, err := trace.ParseTraceState("vendor=x")
	require.NoError(t, err)
	withState := trace.ContextWithSpanContext(context.Background(), sc.WithTraceState(state))
	unsampled := trace.ContextWithSpanContext(context.Background(), sc.WithTraceFlags(0))
	noopCtx, noopSpan := noop.NewTracerProvider().Tracer("").Start(context.Background(), "enqueue")
	defer noopSpan.End()

	parent := "00-" + sc.TraceID().String() + "-" + sc.SpanID().String()
	tests := []struct {
		name string
		ctx  context.Context
		want map[string]string // nil: no headers at all
	}{
		{"no span", context.Background(), nil},
		{"no-op tracer (tracing off)", noopCtx, nil},
		{"sampled span", sampled, map[string]string{"traceparent": parent + "-01"}},
		{"unsampled span", unsampled, map[string]string{"traceparent": parent + "-00"}},
		{"trace state", withState, map[string]string{"traceparent": parent + "-01", "tracestate": "vendor=x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			task, err := tasks.NewBitsTaskWithContext(tt.ctx, b)
			require.NoError(t, err)
			require.Equal(t, base.TypeBits, task.Type())
			require.Equal(t, fixture.Payload(t, b), task.Payload(), "the payload is the same traced or not")
			if tt.want == nil {
				require.Nil(t, task.Headers(), "untraced, a task is NewBitsTask's: no headers")
				return
			}
			require.Equal(t, tt.want, task.Headers())
		})
	}
}

func TestBitsHandlerTracesBatch(t *testing.T) {
	t.Parallel()
	tracer, rec := recorder(t)
	h, store, _ := newHandler(t, 10, nil)
	h.Tracer = tracer
	enq, span := tracer.Start(context.Background(), "enqueue")
	b := base.Batch{RunID: "run-1", Seq: 42, Nums: []uint64{5, 0, 2, 4096}}
	task, err := tasks.NewBitsTaskWithContext(enq, b)
	require.NoError(t, err)
	span.End()

	require.NoError(t, h.ProcessTask(context.Background(), task))
	require.Len(t, store.saved(t), 1)
	spans := byName(t, rec)
	require.Len(t, spans, 5, "enqueue, the batch and its three steps")
	batch := spans[tasks.SpanBatch]
	require.Equal(t, span.SpanContext().TraceID(), batch.SpanContext().TraceID(), "the batch is in the producer's trace")
	require.Equal(t, span.SpanContext().SpanID(), batch.Parent().SpanID(), "under the enqueue")
	require.True(t, batch.Parent().IsRemote())
	require.Equal(t, trace.SpanKindConsumer, batch.SpanKind())
	require.Equal(t, codes.Unset, batch.Status().Code)
	a := attrs(batch)
	require.Equal(t, "run-1", a[tracing.AttrRunID].AsString())
	require.Equal(t, int64(42), a[tracing.AttrSeq].AsInt64())
	require.Equal(t, int64(4), a[tracing.AttrIntegers].AsInt64())
	require.Equal(t, "asynq", a[tracing.AttrSystem].AsString())
	for _, name := range []string{tasks.SpanDecode, tasks.SpanConvert, tasks.SpanSave} {
		s := spans[name]
		require.NotNil(t, s, name)
		require.Equal(t, batch.SpanContext().SpanID(), s.Parent().SpanID(), "%s is a step of the batch", name)
		require.Equal(t, codes.Unset, s.Status().Code, name)
	}
	require.Equal(t, int64(1), attrs(spans[tasks.SpanConvert])[tracing.AttrMisses].AsInt64(), "4096 is outside a 2^10 cache")
}

func TestBitsHandlerTracesFailures(t *testing.T) {
	t.Parallel()
	good := base.Batch{RunID: "run-1", Seq: 1, Nums: []uint64{1}}
	tests := []struct {
		name    string
		payload []byte
		saveErr error
		failed  string // the step whose span records the error
		steps   int
	}{
		{"malformed payload", []byte("junk"), nil, tasks.SpanDecode, 1},
		{"failed save", nil, errors.New("redis down"), tasks.SpanSave, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tracer, rec := recorder(t)
			h, store, _ := newHandler(t, 10, nil)
			h.Tracer = tracer
			store.err = tt.saveErr
			task := bitsTask(t, good)
			if tt.payload != nil {
				task = asynq.NewTask(base.TypeBits, tt.payload)
			}
			require.Error(t, h.ProcessTask(context.Background(), task))
			spans := byName(t, rec)
			require.Len(t, spans, 1+tt.steps)
			batch := spans[tasks.SpanBatch]
			require.False(t, batch.Parent().IsValid(), "a task without trace context starts a trace of its own")
			require.Equal(t, codes.Error, batch.Status().Code)
			require.Equal(t, codes.Error, spans[tt.failed].Status().Code)
			require.NotEmpty(t, spans[tt.failed].Events(), "the error is recorded")
		})
	}
}

// TestBitsHandlerUntracedAddsNothing checks that a handler without a tracer
// (tracing off) allocates no more per batch than its steps called one by
// one: decode, pack, save.
func TestBitsHandlerUntracedAddsNothing(t *testing.T) {
	c := fixture.Cache(t, 20)
	h := &tasks.BitsHandler{Cache: c, Store: nopStore{}, Logger: slog.New(slog.DiscardHandler)}
	task := bitsTask(t, base.Batch{RunID: "alloc-run", Seq: 1, Nums: fixture.RandomNums(9, 1000, 1<<20)})
	steps := stepsByHand(c, task)
	require.NoError(t, steps())
	byHand := testing.AllocsPerRun(200, func() { _ = steps() })
	handler := testing.AllocsPerRun(200, func() { _ = h.ProcessTask(context.Background(), task) })
	require.Equal(t, byHand, handler, "allocations per batch: the handler's steps by hand, and the handler untraced")
}
