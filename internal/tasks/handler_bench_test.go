package tasks_test

import (
	"bitqueue/fixture"
	"bitqueue/internal/rdb"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"bitqueue/internal/base"
	"bitqueue/internal/cache"
	"bitqueue/internal/results"
	"bitqueue/internal/tasks"
)

// batchTask returns a bits:convert task of n integers below max.
func batchTask(tb testing.TB, runID string, n int, max uint64) *asynq.Task {
	tb.Helper()
	t, err := tasks.NewBitsTask(base.Batch{RunID: runID, Nums: fixture.RandomNums(1, n, max)})
	require.NoError(tb, err)
	return t
}

// BenchmarkBitsHandler is the worker's CPU per batch of 1,000 integers
// without Redis: decode, convert through the default cache, pack. Profile it
// with -cpuprofile; -benchmem shows the handler's allocations.
//
// Its cases show what tracing costs: steps is the handler's work called by
// hand (decode, pack, save), without the handler; tracing=off is the
// handler without a Tracer, as the worker runs it unless OTEL_* turns
// tracing on, and as every other figure measures it; tracing=on samples
// every batch and hands its four spans to a batch span processor whose
// exporter drops them. Each reports allocs/batch and added-allocs/batch,
// its allocations beyond steps': 0 when off.
func BenchmarkBitsHandler(b *testing.B) {
	c, err := cache.New(cache.DefaultBits)
	require.NoError(b, err)
	task := batchTask(b, "bench", 1000, 1<<20)
	ctx := context.Background()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	handler := func(tracer trace.Tracer) func() error {
		h := &tasks.BitsHandler{Cache: c, Store: nopStore{}, Logger: slog.New(slog.DiscardHandler), Tracer: tracer}
		return func() error { return h.ProcessTask(ctx, task) }
	}
	steps := stepsByHand(c, task)
	stepsAllocs := testing.AllocsPerRun(100, func() { _ = steps() })
	for _, bc := range []struct {
		name  string
		batch func() error
	}{
		{"steps", steps},
		{"tracing=off", handler(nil)},
		{"tracing=on", handler(tp.Tracer("bench"))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			allocs := testing.AllocsPerRun(100, func() { _ = bc.batch() })
			for b.Loop() {
				if err := bc.batch(); err != nil {
					b.Fatal(err)
				}
			}
			fixture.ReportInts(b, 1000)
			b.ReportMetric(allocs, "allocs/batch")
			b.ReportMetric(allocs-stepsAllocs, "added-allocs/batch")
		})
	}
}

// stepsByHand returns one batch of task through the handler's steps called
// one by one, without the handler: decode, pack, save.
func stepsByHand(c *cache.Cache, task *asynq.Task) func() error {
	var dec base.Batch
	var bits []byte
	store := nopStore{}
	return func() error {
		if err := base.DecodeBatch(&dec, task.Payload()); err != nil {
			return err
		}
		r, _ := tasks.Pack(c, dec.Nums, bits)
		bits = r.Bits[:cap(r.Bits)]
		return store.Save(context.Background(), dec.RunID, dec.Seq, r)
	}
}

// BenchmarkBitsHandlerRedis adds the result write to the Redis at REDIS_URL
// (skipped without it): one MULTI/EXEC round trip per batch, serially.
func BenchmarkBitsHandlerRedis(b *testing.B) {
	url := os.Getenv("REDIS_URL")
	if url == "" {
		b.Skip("REDIS_URL is not set")
	}
	opt, err := redis.ParseURL(url)
	require.NoError(b, err)
	client := redis.NewClient(opt)
	defer client.Close()
	var id [4]byte
	_, _ = crand.Read(id[:])
	prefix := "bqbench-" + hex.EncodeToString(id[:])
	b.Cleanup(func() {
		client.Del(context.Background(), base.ResultKey(prefix, "bench", 0), base.DoneKey(prefix, "bench"))
	})
	c, err := cache.New(cache.DefaultBits)
	require.NoError(b, err)
	h := &tasks.BitsHandler{Cache: c, Store: &results.Saver{RDB: rdb.New(client, prefix), TTL: time.Minute}, Logger: slog.New(slog.DiscardHandler)}
	task := batchTask(b, "bench", 1000, 1<<20)
	ctx := context.Background()
	for b.Loop() {
		if err := h.ProcessTask(ctx, task); err != nil {
			b.Fatal(err)
		}
	}
	fixture.ReportInts(b, 1000)
}
