package schedule

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeClock is a Clock whose sleeps return at once, moving its time to the
// end of the sleep.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) SleepUntil(ctx context.Context, t time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.advance(t)
	return nil
}

// advance moves the clock to t if t is later.
func (c *fakeClock) advance(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.now = t
	}
}

// produced records the ticks a Runner produced and stops it after a number
// of them.
type produced struct {
	mu    sync.Mutex
	ticks []Tick
}

func (p *produced) add(t Tick) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ticks = append(p.ticks, t)
	return len(p.ticks)
}

func (p *produced) ids() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var ids []string
	for _, t := range p.ticks {
		id := t.RunID
		if t.CatchUp {
			id += " (catch-up)"
		}
		ids = append(ids, id)
	}
	return ids
}

// runFor runs r until it returns, failing t after 10 s.
func runFor(t *testing.T, ctx context.Context, r *Runner) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Runner.Run did not return within 10s")
		return nil
	}
}

// fixture is a Runner on a fake clock with a record of what it produced.
type fixture struct {
	r      *Runner
	rec    *produced
	clock  *fakeClock
	ctx    context.Context
	cancel context.CancelFunc
	logs   *bytes.Buffer
}

// setup returns a Runner on spec with a fake clock at start. Each tick calls
// produce (when set) and the Runner is stopped after stopAfter ticks.
func setup(t *testing.T, spec, start string, stopAfter int, produce func(*fixture, context.Context, Tick) error) *fixture {
	t.Helper()
	f := &fixture{rec: &produced{}, clock: &fakeClock{now: at(t, start)}, logs: &bytes.Buffer{}}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	t.Cleanup(f.cancel)
	f.r = &Runner{
		Schedule: mustParse(t, spec, ""),
		Name:     "job",
		Clock:    f.clock,
		Logger:   slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	f.r.Produce = func(ctx context.Context, tk Tick) error {
		n := f.rec.add(tk)
		var err error
		if produce != nil {
			err = produce(f, ctx, tk)
		}
		if n == stopAfter {
			f.cancel()
		}
		return err
	}
	return f
}

// run runs the fixture's Runner until it returns.
func (f *fixture) run(t *testing.T) error {
	t.Helper()
	return runFor(t, f.ctx, f.r)
}

// stoppingClock is a fakeClock that stops the Runner when it is asked to
// sleep until stopAt or later.
type stoppingClock struct {
	*fakeClock
	stopAt time.Time
	cancel context.CancelFunc
}

func (c stoppingClock) SleepUntil(ctx context.Context, t time.Time) error {
	if !t.Before(c.stopAt) {
		c.cancel()
		return ctx.Err()
	}
	return c.fakeClock.SleepUntil(ctx, t)
}

func TestRunnerProducesEachTickInTurn(t *testing.T) {
	t.Parallel()
	f := setup(t, "@every 1s", "2026-11-29T12:00:00.3Z", 3, nil)
	require.NoError(t, f.run(t))
	require.Equal(t, []string{"job-20261129T120000Z", "job-20261129T120001Z", "job-20261129T120002Z"}, f.rec.ids())
	for _, tk := range f.rec.ticks {
		require.Equal(t, time.UTC, tk.Time.Location())
		require.Zero(t, tk.Time.Nanosecond())
	}
	require.NotContains(t, f.logs.String(), "skipped")
}

func TestRunnerCatchUp(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		catchUp int
		want    []string
	}{
		// 12:00:05 is due: the Runner started within its second.
		{"none by default", 0, []string{"job-20261129T120005Z", "job-20261129T120006Z"}},
		{"last three, oldest first, then on time", 3, []string{
			"job-20261129T120002Z (catch-up)", "job-20261129T120003Z (catch-up)", "job-20261129T120004Z (catch-up)",
			"job-20261129T120005Z", "job-20261129T120006Z"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, "@every 1s", "2026-11-29T12:00:05.5Z", len(tc.want), nil)
			f.r.CatchUp = tc.catchUp
			require.NoError(t, f.run(t))
			require.Equal(t, tc.want, f.rec.ids())
		})
	}
}

func TestRunnerSkipsTicksOverrunByASlowTick(t *testing.T) {
	t.Parallel()
	f := setup(t, "@every 1s", "2026-11-29T12:00:00.5Z", 3, func(f *fixture, _ context.Context, tk Tick) error {
		if tk.RunID == "job-20261129T120001Z" {
			f.clock.advance(tk.Time.Add(2500 * time.Millisecond)) // this tick takes 2.5 s
		}
		return nil
	})
	require.NoError(t, f.run(t))
	// 12:00:02 was due while 12:00:01 was produced, and 12:00:03 too:
	// the Runner goes on with the latest, 12:00:03.
	require.Equal(t, []string{"job-20261129T120000Z", "job-20261129T120001Z", "job-20261129T120003Z"}, f.rec.ids())
	require.Contains(t, f.logs.String(), "ticks skipped")
	require.Contains(t, f.logs.String(), "skipped=1")
}

func TestRunnerGoesOnAfterAFailedTick(t *testing.T) {
	t.Parallel()
	f := setup(t, "@every 1s", "2026-11-29T12:00:00.5Z", 2, func(_ *fixture, _ context.Context, tk Tick) error {
		if tk.RunID == "job-20261129T120000Z" {
			return errors.New("redis is down")
		}
		return nil
	})
	require.NoError(t, f.run(t))
	require.Equal(t, []string{"job-20261129T120000Z", "job-20261129T120001Z"}, f.rec.ids())
	logs := f.logs.String()
	require.Contains(t, logs, `msg="tick failed"`)
	require.Contains(t, logs, `run_id=job-20261129T120000Z`)
	require.Contains(t, logs, `err="redis is down"`)
}

func TestRunnerStops(t *testing.T) {
	t.Parallel()
	t.Run("between ticks", func(t *testing.T) {
		t.Parallel()
		f := setup(t, "@every 1s", "2026-11-29T12:00:00Z", 0, nil)
		f.r.Clock = stoppingClock{fakeClock: f.clock, stopAt: at(t, "2026-11-29T12:00:03Z"), cancel: f.cancel}
		require.NoError(t, f.run(t))
		require.Equal(t, []string{"job-20261129T120000Z", "job-20261129T120001Z", "job-20261129T120002Z"}, f.rec.ids())
		require.Contains(t, f.logs.String(), "stopped between ticks")
	})
	t.Run("during a tick, producing nothing more", func(t *testing.T) {
		t.Parallel()
		f := setup(t, "@every 1s", "2026-11-29T12:00:00Z", 0, func(f *fixture, ctx context.Context, _ Tick) error {
			f.cancel() // the stop signal arrives in the middle of the tick
			return ctx.Err()
		})
		f.r.CatchUp = 5
		require.NoError(t, f.run(t))
		require.Equal(t, []string{"job-20261129T115955Z (catch-up)"}, f.rec.ids())
		require.Contains(t, f.logs.String(), "stopped during tick")
	})
	t.Run("before it starts", func(t *testing.T) {
		t.Parallel()
		f := setup(t, "@every 1s", "2026-11-29T12:00:00Z", 0, nil)
		f.cancel()
		require.NoError(t, f.run(t))
		require.Empty(t, f.rec.ids())
	})
}

// Replicas started at different moments produce the same run ids for the
// ticks they share.
func TestRunnerReplicasAgree(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		start string
		want  []string
	}{
		{"2026-11-29T11:59:58.2Z", []string{"job-20261129T115958Z", "job-20261129T115959Z", "job-20261129T120000Z", "job-20261129T120001Z"}},
		{"2026-11-29T11:59:59.05Z", []string{"job-20261129T115959Z", "job-20261129T120000Z", "job-20261129T120001Z"}},
		{"2026-11-29T11:59:59.999Z", []string{"job-20261129T115959Z", "job-20261129T120000Z", "job-20261129T120001Z"}},
		{"2026-11-29T12:00:00Z", []string{"job-20261129T120000Z", "job-20261129T120001Z"}},
	} {
		f := setup(t, "@every 1s", tc.start, len(tc.want), nil)
		require.NoError(t, f.run(t))
		require.Equal(t, tc.want, f.rec.ids(), "replica started at %s", tc.start)
	}
}

func TestSystemClockSleepUntil(t *testing.T) {
	t.Parallel()
	var c SystemClock
	until := c.Now().Add(30 * time.Millisecond)
	require.NoError(t, c.SleepUntil(context.Background(), until))
	require.False(t, c.Now().Before(until), "woke before the time asked for")

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.SleepUntil(ctx, c.Now().Add(time.Hour)) }()
	cancel()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(10 * time.Second):
		t.Fatal("SleepUntil did not return within 10s of its context ending")
	}
}
