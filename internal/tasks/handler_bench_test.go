package tasks_test

import (
	"bitqueue/internal/rdb"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"log/slog"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/base"
	"bitqueue/internal/cache"
	"bitqueue/internal/results"
	"bitqueue/internal/tasks"
)

// batchTask returns a bits:convert task of n integers below max.
func batchTask(tb testing.TB, runID string, n int, max uint64) *asynq.Task {
	tb.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	nums := make([]uint64, n)
	for i := range nums {
		nums[i] = rng.Uint64N(max)
	}
	t, err := tasks.NewBitsTask(base.Batch{RunID: runID, Nums: nums})
	require.NoError(tb, err)
	return t
}

// BenchmarkBitsHandler is the worker's CPU per batch of 1,000 integers
// without Redis: decode, convert through the default cache, pack. Profile it
// with -cpuprofile; -benchmem shows the handler's allocations.
func BenchmarkBitsHandler(b *testing.B) {
	c, err := cache.New(cache.DefaultBits)
	require.NoError(b, err)
	h := &tasks.BitsHandler{Cache: c, Store: nopStore{}, Logger: slog.New(slog.DiscardHandler)}
	task := batchTask(b, "bench", 1000, 1<<20)
	ctx := context.Background()
	for b.Loop() {
		if err := h.ProcessTask(ctx, task); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "ints/s")
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
	b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "ints/s")
}
