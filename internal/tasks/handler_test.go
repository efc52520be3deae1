package tasks_test

import (
	"bitqueue/fixture"
	"bitqueue/internal/base"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"testing"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/tasks"
	"bitqueue/redistest"
)

// fakeStore is a ResultStore that records what it is asked to save, or fails
// with err.
type fakeStore struct {
	mu    sync.Mutex
	saves map[string]base.Result // by task id
	calls int
	err   error
}

func (s *fakeStore) Save(_ context.Context, runID string, seq uint64, r base.Result) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.err != nil {
		return s.err
	}
	if s.saves == nil {
		s.saves = map[string]base.Result{}
	}
	// The handler reuses r.Bits once Save returns: keep a copy.
	r.Bits = bytes.Clone(r.Bits)
	s.saves[base.TaskID(runID, seq)] = r
	return nil
}

func (s *fakeStore) saved(t *testing.T) map[string]base.Result {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.saves
}

// outcomes records what Observe is given.
type outcomes struct {
	mu   sync.Mutex
	list []tasks.Outcome
}

func (o *outcomes) observe(out tasks.Outcome) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.list = append(o.list, out)
}

func (o *outcomes) all() []tasks.Outcome {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]tasks.Outcome(nil), o.list...)
}

// newHandler returns a handler with a cache of 2^k entries, a fake store and
// an outcome recorder, logging to log when it is not nil.
func newHandler(t *testing.T, k int, log *bytes.Buffer) (*tasks.BitsHandler, *fakeStore, *outcomes) {
	t.Helper()
	store, seen := &fakeStore{}, &outcomes{}
	logger := slog.New(slog.DiscardHandler)
	if log != nil {
		logger = slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return &tasks.BitsHandler{Cache: fixture.Cache(t, k), Store: store, Logger: logger, Observe: seen.observe}, store, seen
}

// bitsTask is the task of batch b, failing the test if it cannot be made.
func bitsTask(t testing.TB, b base.Batch) *asynq.Task {
	t.Helper()
	task, err := tasks.NewBitsTask(b)
	require.NoError(t, err)
	return task
}

// wantResult is the result the contract prescribes for nums.
func wantResult(nums []uint64) base.Result {
	width, bits := refPack(nums)
	return base.Result{Count: len(nums), Width: width, Bits: bits}
}

func TestBitsHandlerStoresResult(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		nums   []uint64
		misses int
	}{
		{"one zero", []uint64{0}, 0},
		{"small", []uint64{5, 0, 2}, 0},
		{"cache edge", []uint64{1023, 1024, 1025, 0}, 2},
		{"2^63-1", []uint64{math.MaxInt64, 1}, 1},
		{"random below 2^10", fixture.RandomNums(1, 5000, 1<<10), 0},
		{"max batch", fixture.RandomNums(2, base.MaxBatch, 1<<10), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, store, seen := newHandler(t, 10, nil)
			b := base.Batch{RunID: "run-1", Seq: 42, Nums: tt.nums}
			require.NoError(t, h.ProcessTask(context.Background(), bitsTask(t, b)))
			require.Equal(t, map[string]base.Result{"run-1:42": wantResult(tt.nums)}, store.saved(t))
			require.Equal(t, []tasks.Outcome{{Count: len(tt.nums), Misses: tt.misses}}, seen.all())
		})
	}
}

func TestBitsHandlerMalformed(t *testing.T) {
	t.Parallel()
	valid := fixture.Payload(t, base.Batch{RunID: "r", Seq: 1, Nums: []uint64{1, 2}})
	tests := []struct {
		name string
		task *asynq.Task
		want string
	}{
		{"empty payload", asynq.NewTask(base.TypeBits, nil), "payload is empty"},
		{"garbage", asynq.NewTask(base.TypeBits, []byte("hello, world")), "version 104"},
		{"truncated", asynq.NewTask(base.TypeBits, valid[:len(valid)-1]), "needs 2 bytes"},
		{"wrong version", asynq.NewTask(base.TypeBits, append([]byte{2}, valid[1:]...)), "version 2"},
		{"wrong task type", asynq.NewTask("bits:other", valid), `task type "bits:other"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var log bytes.Buffer
			h, store, seen := newHandler(t, 4, &log)
			err := h.ProcessTask(context.Background(), tt.task)
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.want)
			require.True(t, tasks.IsPermanent(err), "a malformed task is a permanent failure")
			require.ErrorIs(t, err, asynq.SkipRetry)
			require.Zero(t, store.calls, "nothing is saved")
			require.Equal(t, []tasks.Outcome{{Err: err}}, seen.all())
			if tt.task.Type() == base.TypeBits {
				require.ErrorIs(t, err, base.ErrMalformed)
				require.Contains(t, log.String(), "rejected malformed batch")
			}
		})
	}
}

func TestBitsHandlerStoreError(t *testing.T) {
	t.Parallel()
	h, store, seen := newHandler(t, 4, nil)
	storeErr := errors.New("redis: connection refused")
	store.err = storeErr
	err := h.ProcessTask(context.Background(), bitsTask(t, base.Batch{RunID: "run-9", Seq: 3, Nums: []uint64{1, 100}}))
	require.ErrorIs(t, err, storeErr)
	require.False(t, tasks.IsPermanent(err), "a failed write is retried")
	require.NotErrorIs(t, err, asynq.SkipRetry)
	require.Contains(t, err.Error(), "run-9:3", "the error names the batch")
	require.Equal(t, 1, store.calls)
	require.Equal(t, []tasks.Outcome{{Count: 2, Misses: 1, Err: err}}, seen.all())
}

func TestBitsHandlerWithoutObserve(t *testing.T) {
	t.Parallel()
	h, store, _ := newHandler(t, 4, nil)
	h.Observe = nil
	require.NoError(t, h.ProcessTask(context.Background(), bitsTask(t, base.Batch{RunID: "r", Seq: 0, Nums: []uint64{3}})))
	require.Error(t, h.ProcessTask(context.Background(), asynq.NewTask(base.TypeBits, nil)))
	require.Equal(t, map[string]base.Result{"r:0": wantResult([]uint64{3})}, store.saved(t))
}

func TestIsPermanent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain", errors.New("boom"), false},
		{"SkipRetry", asynq.SkipRetry, true},
		{"wrapped SkipRetry", fmt.Errorf("batch r:1: %w", asynq.SkipRetry), true},
		{"malformed alone", base.ErrMalformed, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, tasks.IsPermanent(tt.err))
		})
	}
}

// TestBitsHandlerConcurrent runs one handler from many goroutines (run it
// with -race): the pooled buffers must never mix batches up.
func TestBitsHandlerConcurrent(t *testing.T) {
	t.Parallel()
	h, store, seen := newHandler(t, 8, nil)
	const goroutines, perGoroutine = 16, 40
	want := map[string]base.Result{}
	jobs := make([][]*asynq.Task, goroutines)
	for g := range goroutines {
		for i := range perGoroutine {
			seq := uint64(g*perGoroutine + i)
			// Sizes and widths vary so that buffers are both reused and
			// outgrown.
			nums := fixture.RandomNums(seq, 1+int(seq*37%700), 1<<(1+seq%40))
			b := base.Batch{RunID: "conc", Seq: seq, Nums: nums}
			want[base.TaskID(b.RunID, b.Seq)] = wantResult(nums)
			jobs[g] = append(jobs[g], bitsTask(t, b))
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*perGoroutine)
	for g := range goroutines {
		wg.Go(func() {
			for _, task := range jobs[g] {
				errs <- h.ProcessTask(context.Background(), task)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, want, store.saved(t))
	require.Len(t, seen.all(), goroutines*perGoroutine)
}

func TestTaskID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		run  string
		seq  uint64
		want string
	}{
		{"run-1", 0, "run-1:0"},
		{"r", 42, "r:42"},
		{"a.b_c", math.MaxUint64, "a.b_c:18446744073709551615"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, base.TaskID(tt.run, tt.seq))
		})
	}
}

func TestNewBitsTask(t *testing.T) {
	t.Parallel()
	require.Equal(t, "bits:convert", base.TypeBits, "the task type is a wire contract")

	b := base.Batch{RunID: "run-1", Seq: 7, Nums: []uint64{1, 2, 3}}
	task := bitsTask(t, b)
	require.Equal(t, base.TypeBits, task.Type())
	require.Equal(t, fixture.Payload(t, b), task.Payload())

	_, err := tasks.NewBitsTask(base.Batch{RunID: "run-1", Seq: 8})
	require.ErrorContains(t, err, "batch run-1:8:")
	_, err = tasks.NewBitsTask(base.Batch{RunID: "bad id", Seq: 8, Nums: []uint64{1}})
	require.ErrorContains(t, err, "run id")
}

// TestNewBitsTaskEnqueued checks the task id by enqueueing the task (asynq.Task
// has no id getter before that) and reading it back.
func TestNewBitsTaskEnqueued(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	queue, _ := r.Namespace(t)
	client := asynq.NewClientFromRedisClient(r.Client)
	insp := asynq.NewInspectorFromRedisClient(r.Client)

	b := base.Batch{RunID: "run-1", Seq: 7, Nums: []uint64{1, 2, 3}}
	task, err := tasks.NewBitsTask(b, asynq.Queue(queue), asynq.MaxRetry(3))
	require.NoError(t, err)
	info, err := client.Enqueue(task)
	require.NoError(t, err)
	require.Equal(t, "run-1:7", info.ID)
	require.Equal(t, queue, info.Queue, "options are applied")

	got, err := insp.GetTaskInfo(queue, "run-1:7")
	require.NoError(t, err)
	require.Equal(t, "run-1:7", got.ID)
	require.Equal(t, base.TypeBits, got.Type)
	require.Equal(t, 3, got.MaxRetry)
	require.Equal(t, fixture.Payload(t, b), got.Payload)

	// The same batch again is refused rather than run twice.
	_, err = client.Enqueue(bitsTask(t, b), asynq.Queue(queue))
	require.ErrorIs(t, err, asynq.ErrTaskIDConflict)
}

func BenchmarkProcessTask(b *testing.B) {
	h := &tasks.BitsHandler{Cache: fixture.Cache(b, 20), Store: nopStore{}, Logger: slog.New(slog.DiscardHandler)}
	batch := base.Batch{RunID: "bench-run", Seq: 1, Nums: fixture.RandomNums(9, 1000, 1<<20)}
	task := bitsTask(b, batch)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := h.ProcessTask(ctx, task); err != nil {
			b.Fatal(err)
		}
	}
	fixture.ReportInts(b, len(batch.Nums))
}

type nopStore struct{}

func (nopStore) Save(context.Context, string, uint64, base.Result) error { return nil }
