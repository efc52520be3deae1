package results_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"bitqueue/fixture"
	"bitqueue/internal/base"
	"bitqueue/internal/outage"
	"bitqueue/internal/rdb"
	"bitqueue/internal/results"
	"bitqueue/internal/tasks"
	"bitqueue/redistest"
)

const (
	waitFor = 10 * time.Second
	tick    = time.Millisecond
)

// pipelineHook counts the pipelines that write results (HSET) a client
// sends, and runs before, when set, ahead of each.
type pipelineHook struct {
	sent   atomic.Int64
	before func() error
}

func (h *pipelineHook) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (h *pipelineHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (h *pipelineHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if !slices.ContainsFunc(cmds, func(c redis.Cmder) bool { return c.Name() == "hset" }) {
			return next(ctx, cmds) // the connection's set-up
		}
		h.sent.Add(1)
		if h.before != nil {
			if err := h.before(); err != nil {
				return err
			}
		}
		return next(ctx, cmds)
	}
}

const ttl = time.Hour

// saverOnHook returns a Saver whose client carries hook, on the test's
// Redis and a prefix of its own, and an RDB there without the hook to read
// back with.
func saverOnHook(t *testing.T, hook *pipelineHook) (*results.Saver, *rdb.RDB) {
	t.Helper()
	r := redistest.Start(t)
	_, prefix := r.Namespace(t)
	c := redis.NewClient(r.Client.Options())
	t.Cleanup(func() { c.Close() })
	c.AddHook(hook)
	return &results.Saver{RDB: rdb.New(c, prefix), TTL: ttl}, rdb.New(r.Client, prefix)
}

// load reads batch seq's result, failing t if it has none.
func load(t *testing.T, db *rdb.RDB, runID string, seq uint64) base.Result {
	t.Helper()
	rs, err := db.LoadResults(context.Background(), runID, []uint64{seq})
	require.NoError(t, err)
	return rs[0]
}

// TestSaverSavesTogether holds the first save's round trip until every other
// caller waits, and checks that they then go out as one more round trip, and
// that every result and done bit is stored.
func TestSaverSavesTogether(t *testing.T) {
	t.Parallel()
	const callers = 20
	release := make(chan struct{})
	var once sync.Once
	hook := &pipelineHook{before: func() error { once.Do(func() { <-release }); return nil }}
	g, s := saverOnHook(t, hook)
	var mu sync.Mutex
	var wrote []int
	g.Observe = func(sv results.Saved) {
		if sv.Lead {
			mu.Lock()
			wrote = append(wrote, sv.Batches)
			mu.Unlock()
		}
	}
	ctx := context.Background()

	var wg sync.WaitGroup
	errs := make(chan error, callers)
	first := make(chan struct{})
	wg.Go(func() { close(first); errs <- g.Save(ctx, "run-g", 0, fixture.Result(t, 0)) })
	<-first
	for seq := uint64(1); seq < callers; seq++ {
		wg.Go(func() { errs <- g.Save(ctx, "run-g", seq, fixture.Result(t, seq, 7)) })
	}
	require.Eventually(t, func() bool { return g.Waiting() == callers-1 }, waitFor, tick)
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.EqualValues(t, 2, hook.sent.Load(), "the first save, then everyone who waited for it")
	require.Equal(t, []int{1, callers - 1}, wrote, "the batches of each write")

	n, err := s.DoneCount(ctx, "run-g")
	require.NoError(t, err)
	require.Equal(t, callers, n)
	require.Equal(t, fixture.Result(t, 0), load(t, s, "run-g", 0))
	for seq := uint64(1); seq < callers; seq++ {
		require.Equal(t, fixture.Result(t, seq, 7), load(t, s, "run-g", seq))
	}
}

// TestSaverFailsTogether checks that every caller of a failed group gets its
// error, and that the next Save, alone, goes out and succeeds.
func TestSaverFailsTogether(t *testing.T) {
	t.Parallel()
	refused := errors.New("refused")
	release := make(chan struct{})
	var calls atomic.Int64
	hook := &pipelineHook{before: func() error {
		switch calls.Add(1) {
		case 1:
			<-release
			return nil
		case 2:
			return refused
		}
		return nil
	}}
	g, s := saverOnHook(t, hook)
	ctx := context.Background()

	firstDone := make(chan error, 1)
	go func() { firstDone <- g.Save(ctx, "run-f", 0, fixture.Result(t, 0)) }()
	require.Eventually(t, func() bool { return calls.Load() == 1 }, waitFor, tick)
	errs := make(chan error, 3)
	for seq := uint64(1); seq <= 3; seq++ {
		go func() { errs <- g.Save(ctx, "run-f", seq, fixture.Result(t, seq)) }()
	}
	require.Eventually(t, func() bool { return g.Waiting() == 3 }, waitFor, tick)
	close(release)
	require.NoError(t, <-firstDone)
	for range 3 {
		require.ErrorIs(t, <-errs, refused)
	}
	require.NoError(t, g.Save(ctx, "run-f", 4, fixture.Result(t, 4)))
	bits, err := s.DoneBits(ctx, "run-f")
	require.NoError(t, err)
	for seq := range uint64(5) {
		require.Equal(t, seq == 0 || seq == 4, bits.Done(seq), "batch %d", seq)
	}
}

// TestSaverCancelledWritesNothing checks that a Save whose context has ended
// (a batch handed back at shutdown) writes nothing.
func TestSaverCancelledWritesNothing(t *testing.T) {
	t.Parallel()
	hook := &pipelineHook{}
	g, s := saverOnHook(t, hook)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, g.Save(ctx, "run-x", 0, fixture.Result(t, 0)), context.Canceled)
	require.Zero(t, hook.sent.Load())
	_, err := s.LoadResults(context.Background(), "run-x", []uint64{0})
	require.ErrorIs(t, err, rdb.ErrNotFound)
}

// flakyWrite fails its first failures writes with err.
type flakyWrite struct {
	failures int
	err      error
	calls    int
	saved    []string
}

func (f *flakyWrite) write(_ context.Context, bs []rdb.Batch) error {
	f.calls++
	if f.calls <= f.failures {
		return f.err
	}
	for _, b := range bs {
		f.saved = append(f.saved, fmt.Sprintf("%s:%d", b.RunID, b.Seq))
	}
	return nil
}

// flakySaver returns a Saver, of a single Redis never contacted, whose
// writes go to next.
func flakySaver(next *flakyWrite, rider *outage.Rider) *results.Saver {
	s := &results.Saver{RDB: rdb.New(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}), "p"), Rider: rider}
	s.SetWrite(next.write)
	return s
}

func TestSaverRidesOutAnOutage(t *testing.T) {
	t.Parallel()
	refused := fmt.Errorf("dial tcp 127.0.0.1:6379: %w", syscall.ECONNREFUSED)
	tests := []struct {
		name      string
		failures  int
		err       error
		bound     time.Duration
		wantCalls int
		wantErr   bool
	}{
		{"no outage", 0, nil, time.Second, 1, false},
		{"short outage", 3, refused, 10 * time.Second, 4, false},
		{"Redis loading its data", 2, errors.New("LOADING Redis is loading the dataset in memory"), 10 * time.Second, 3, false},
		{"outage past the bound", 1000, refused, 300 * time.Millisecond, 3, true},
		{"permanent error", 1, errors.New("WRONGTYPE Operation against a key holding the wrong kind of value"), 10 * time.Second, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			next := &flakyWrite{failures: tt.failures, err: tt.err}
			s := flakySaver(next, outage.New(tt.bound, nil))
			err := s.Save(context.Background(), "run", 7, base.Result{Count: 1, Width: 1, Bits: []byte{0x80}})
			if tt.wantErr {
				require.ErrorIs(t, err, tt.err)
				require.Empty(t, next.saved)
				if tt.wantCalls > 1 {
					require.GreaterOrEqual(t, next.calls, tt.wantCalls)
				} else {
					require.Equal(t, tt.wantCalls, next.calls)
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.wantCalls, next.calls)
			require.Equal(t, []string{"run:7"}, next.saved)
		})
	}
}

// The task's context bounds the wait: a cancelled task stops saving at once.
func TestSaverStopsWithTheTask(t *testing.T) {
	t.Parallel()
	next := &flakyWrite{failures: 1 << 30, err: syscall.ECONNREFUSED}
	s := flakySaver(next, outage.New(time.Hour, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := s.Save(ctx, "run", 1, base.Result{Count: 1, Width: 1, Bits: []byte{0x80}})
	require.ErrorIs(t, err, syscall.ECONNREFUSED)
	require.Less(t, time.Since(start), 5*time.Second)
}

func TestSaverDefaults(t *testing.T) {
	t.Parallel()
	// The default prefix is outside any test namespace, so this test keeps
	// to a Redis of its own rather than REDIS_URL.
	m := miniredis.RunT(t)
	client := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { client.Close() })
	s := &results.Saver{RDB: rdb.New(client, "")}
	res := fixture.Result(t, 6)
	require.NoError(t, s.Save(context.Background(), "run-1", 0, res))
	require.True(t, m.Exists("bitqueue:result:run-1:0"))
	require.Equal(t, base.DefaultTTL, m.TTL("bitqueue:result:run-1:0"))
	require.Equal(t, 24*time.Hour, base.DefaultTTL)
	require.Equal(t, res, load(t, s.RDB, "run-1", 0))
}

// BenchmarkSaveParallel saves 1,000-integer results from 8 goroutines per
// CPU, one at a time each (one write each, rdb.SaveResults) and through a
// Saver (grouped), and reports the integers saved per second and the round
// trips per save.
func BenchmarkSaveParallel(b *testing.B) {
	r := redistest.Start(b)
	_, prefix := r.Namespace(b)
	res, _ := tasks.Pack(fixture.Cache(b, 20), fixture.RandomNums(3, 1000, 1<<20), nil)
	for _, group := range []bool{false, true} {
		name := map[bool]string{false: "store", true: "group"}[group]
		b.Run(name, func(b *testing.B) {
			hook := &pipelineHook{}
			client := redis.NewClient(r.Client.Options())
			b.Cleanup(func() { client.Close() })
			client.AddHook(hook)
			db := rdb.New(client, prefix)
			var saver tasks.ResultStore = oneWrite{db}
			if group {
				saver = &results.Saver{RDB: db, TTL: ttl}
			}
			var seq atomic.Uint64
			ctx := context.Background()
			b.SetParallelism(8)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := saver.Save(ctx, "bench", seq.Add(1)%4096, res); err != nil {
						b.Error(err)
						return
					}
				}
			})
			fixture.ReportInts(b, res.Count)
			b.ReportMetric(float64(hook.sent.Load())/float64(b.N), "round-trips/save")
		})
	}
}

// oneWrite saves each result in a write of its own.
type oneWrite struct{ db *rdb.RDB }

func (o oneWrite) Save(ctx context.Context, runID string, seq uint64, r base.Result) error {
	return o.db.SaveResults(ctx, ttl, []rdb.Batch{{RunID: runID, Seq: seq, Result: r}})
}
