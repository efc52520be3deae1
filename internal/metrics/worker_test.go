package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"bitqueue/fixture/promtest"
	"bitqueue/internal/base"
	"bitqueue/internal/cache"
	"bitqueue/internal/metrics"
	"bitqueue/internal/results"
	"bitqueue/internal/tasks"
)

func TestReason(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"malformed payload", fmt.Errorf("bad header: %w", asynq.SkipRetry), metrics.ReasonMalformed},
		{"deadline", fmt.Errorf("save result: %w", context.DeadlineExceeded), metrics.ReasonTimeout},
		{"shutdown", fmt.Errorf("save result: %w", context.Canceled), metrics.ReasonCanceled},
		{"redis error", errors.New("save result: connection refused"), metrics.ReasonStore},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, metrics.Reason(tt.err))
			require.Contains(t, metrics.Reasons, tt.want)
		})
	}
}

// gather returns reg's metric families by name.
func gather(t *testing.T, reg prometheus.Gatherer) map[string]*dto.MetricFamily {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	out := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

// slowStore takes 2 ms a save, failing with err when set, and tells observe
// of each save as results.Saver does: the n-th save led a write of
// batches[n] batches.
type slowStore struct {
	calls   atomic.Int32
	err     error
	batches []int
	observe func(results.Saved)
}

func (s *slowStore) Save(context.Context, string, uint64, base.Result) error {
	n := s.calls.Add(1)
	start := time.Now()
	time.Sleep(2 * time.Millisecond)
	s.observe(results.Saved{Took: time.Since(start), Batches: s.batches[n-1], Lead: true, Err: s.err})
	return s.err
}

func TestWorkerMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	var ready atomic.Bool
	m := metrics.NewWorker(reg, ready.Load)

	mfs := gather(t, reg)
	require.Zero(t, promtest.Sample(t, mfs, "bitqueue_ready", nil))
	for _, r := range metrics.Reasons {
		require.Zero(t, promtest.Sample(t, mfs, "bitqueue_batches_failed_total", map[string]string{"reason": r}), "reason %s starts at 0", r)
	}

	c, st, err := cache.Build(4)
	require.NoError(t, err)
	m.ObserveCache(st)
	ready.Store(true)

	// Two batches through the real handler, one malformed, with the store
	// and handler wrapped the way cmd/worker wraps them.
	store := &slowStore{batches: []int{1, 3, 1}, observe: m.ObserveSave}
	inner := &tasks.BitsHandler{Cache: c, Store: store, Logger: slog.New(slog.DiscardHandler), Observe: m.Observe}
	var inFlightSeen atomic.Int32
	gate := asynq.HandlerFunc(func(ctx context.Context, task *asynq.Task) error {
		mfs := gather(t, reg)
		inFlightSeen.Store(int32(promtest.Sample(t, mfs, "bitqueue_batches_in_flight", nil)))
		return inner.ProcessTask(ctx, task)
	})
	h := m.Handler(gate)
	for i, nums := range [][]uint64{{1, 2, 3, 100}, {7, 8}} {
		task, err := tasks.NewBitsTask(base.Batch{RunID: "r", Seq: uint64(i), Nums: nums})
		require.NoError(t, err)
		require.NoError(t, h.ProcessTask(context.Background(), task))
		require.EqualValues(t, 1, inFlightSeen.Load(), "in flight during a batch")
	}
	bad := h.ProcessTask(context.Background(), asynq.NewTask(base.TypeBits, []byte{9, 9, 9}))
	require.True(t, tasks.IsPermanent(bad))
	store.err = errors.New("connection refused")
	task, err := tasks.NewBitsTask(base.Batch{RunID: "r", Seq: 9, Nums: []uint64{1}})
	require.NoError(t, err)
	require.Error(t, h.ProcessTask(context.Background(), task))

	mfs = gather(t, reg)
	writes := mfs["bitqueue_result_write_batches"].GetMetric()[0].GetHistogram()
	require.EqualValues(t, 3, writes.GetSampleCount(), "writes")
	require.EqualValues(t, 5, writes.GetSampleSum(), "batches they carried")
	for _, tt := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"bitqueue_batches_processed_total", nil, 2},
		{"bitqueue_integers_converted_total", nil, 6},
		{"bitqueue_cache_misses_total", nil, 1}, // 100 ≥ 2^4
		{"bitqueue_batches_failed_total", map[string]string{"reason": "malformed"}, 1},
		{"bitqueue_batches_failed_total", map[string]string{"reason": "store"}, 1},
		{"bitqueue_batches_failed_total", map[string]string{"reason": "timeout"}, 0},
		{"bitqueue_batch_duration_seconds", nil, 4},        // every batch, failures included
		{"bitqueue_result_write_duration_seconds", nil, 3}, // every write attempted
		{"bitqueue_batches_in_flight", nil, 0},
		{"bitqueue_cache_entries", nil, 16},
		{"bitqueue_cache_bytes", nil, cache.EntryBytes << 4},
		{"bitqueue_ready", nil, 1},
	} {
		require.Equal(t, tt.want, promtest.Sample(t, mfs, tt.name, tt.labels), "%s%v", tt.name, tt.labels)
	}
	require.Positive(t, promtest.Sample(t, mfs, "bitqueue_cache_build_duration_seconds", nil))
	sum := mfs["bitqueue_result_write_duration_seconds"].GetMetric()[0].GetHistogram().GetSampleSum()
	require.GreaterOrEqual(t, sum, 3*0.002, "write seconds include the store's time")

	problems, err := testutil.GatherAndLint(reg)
	require.NoError(t, err)
	require.Empty(t, problems, "metric names and help follow Prometheus conventions")
}

func TestNewRegistryHasRuntimeMetrics(t *testing.T) {
	t.Parallel()
	reg := metrics.NewRegistry()
	metrics.NewWorker(reg, func() bool { return true })
	mfs := gather(t, reg)
	require.Contains(t, mfs, "go_goroutines")
	require.Contains(t, mfs, "process_start_time_seconds")
	require.Contains(t, mfs, "bitqueue_ready")
	// A second worker on another registry is independent: nothing global.
	other := prometheus.NewRegistry()
	metrics.NewWorker(other, func() bool { return false })
	require.Zero(t, promtest.Sample(t, gather(t, other), "bitqueue_ready", nil))
}
