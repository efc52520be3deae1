package results_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/results"
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

// groupOnHook returns a Group whose store's client carries hook, on the
// test's Redis and prefix.
func groupOnHook(t *testing.T, hook *pipelineHook) (*results.Group, *results.Store) {
	t.Helper()
	s, r, prefix := newStore(t)
	c := redis.NewClient(r.Client.Options())
	t.Cleanup(func() { c.Close() })
	c.AddHook(hook)
	return &results.Group{Store: &results.Store{Client: c, Prefix: prefix, TTL: ttl}}, s
}

// TestGroupSavesTogether holds the first save's round trip until every other
// caller waits, and checks that they then go out as one more round trip, and
// that every result and done bit is stored.
func TestGroupSavesTogether(t *testing.T) {
	t.Parallel()
	const callers = 20
	release := make(chan struct{})
	var once sync.Once
	hook := &pipelineHook{before: func() error { once.Do(func() { <-release }); return nil }}
	g, s := groupOnHook(t, hook)
	var mu sync.Mutex
	var wrote []int
	g.Wrote = func(n int) { mu.Lock(); wrote = append(wrote, n); mu.Unlock() }
	ctx := context.Background()

	var wg sync.WaitGroup
	errs := make(chan error, callers)
	first := make(chan struct{})
	wg.Go(func() { close(first); errs <- g.Save(ctx, "run-g", 0, pack(t, 0)) })
	<-first
	for seq := uint64(1); seq < callers; seq++ {
		wg.Go(func() { errs <- g.Save(ctx, "run-g", seq, pack(t, seq, 7)) })
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
	got, err := s.Load(ctx, "run-g", 0)
	require.NoError(t, err)
	require.Equal(t, pack(t, 0), got)
	for seq := uint64(1); seq < callers; seq++ {
		got, err := s.Load(ctx, "run-g", seq)
		require.NoError(t, err)
		require.Equal(t, pack(t, seq, 7), got)
	}
}

// TestGroupFailsTogether checks that every caller of a failed group gets its
// error, and that the next Save, alone, goes out and succeeds.
func TestGroupFailsTogether(t *testing.T) {
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
	g, s := groupOnHook(t, hook)
	ctx := context.Background()

	firstDone := make(chan error, 1)
	go func() { firstDone <- g.Save(ctx, "run-f", 0, pack(t, 0)) }()
	require.Eventually(t, func() bool { return calls.Load() == 1 }, waitFor, tick)
	errs := make(chan error, 3)
	for seq := uint64(1); seq <= 3; seq++ {
		go func() { errs <- g.Save(ctx, "run-f", seq, pack(t, seq)) }()
	}
	require.Eventually(t, func() bool { return g.Waiting() == 3 }, waitFor, tick)
	close(release)
	require.NoError(t, <-firstDone)
	for range 3 {
		require.ErrorIs(t, <-errs, refused)
	}
	require.NoError(t, g.Save(ctx, "run-f", 4, pack(t, 4)))
	bits, err := s.DoneBits(ctx, "run-f")
	require.NoError(t, err)
	for seq := range uint64(5) {
		require.Equal(t, seq == 0 || seq == 4, bits.Done(seq), "batch %d", seq)
	}
}

// TestGroupCancelledWritesNothing checks that a Save whose context has ended
// (a batch handed back at shutdown) writes nothing.
func TestGroupCancelledWritesNothing(t *testing.T) {
	t.Parallel()
	hook := &pipelineHook{}
	g, s := groupOnHook(t, hook)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, g.Save(ctx, "run-x", 0, pack(t, 0)), context.Canceled)
	require.Zero(t, hook.sent.Load())
	_, err := s.Load(context.Background(), "run-x", 0)
	require.ErrorIs(t, err, results.ErrNotFound)
}
