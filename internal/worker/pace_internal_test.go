package worker

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// errEmpty is what a dequeue call finds in an empty queue.
var errEmpty = errors.New("empty queue")

// call runs a dequeue call as rdb.HookDequeues does, with l's before and
// after around it, in a goroutine: the call records being reached and finds
// the queue empty (or a task when task is set). It returns a channel that
// receives the call's error: errEmpty when before held it back for good.
func call(l *loopPace, task bool, reached chan<- struct{}) <-chan error {
	done := make(chan error, 1)
	go func() {
		idle, proceed := l.before()
		if !proceed {
			done <- errEmpty
			return
		}
		reached <- struct{}{}
		l.after(idle, task)
		if !task {
			done <- errEmpty
			return
		}
		done <- nil
	}()
	return done
}

func within[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(30 * time.Second):
		require.FailNowf(t, "timed out", "waited 30s for %s", what)
		panic("unreachable")
	}
}

// wakeUntil wakes p every few milliseconds until done has a value, which it
// returns: with an IdleAfter of a nanosecond, only a wake-up during the wait
// counts.
func wakeUntil[T any](t *testing.T, p *pacer, done <-chan T, what string) T {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		p.wake()
		select {
		case v := <-done:
			return v
		case <-time.After(5 * time.Millisecond):
		case <-deadline:
			require.FailNowf(t, "timed out", "waited 30s for %s", what)
		}
	}
}

func TestPacer(t *testing.T) {
	t.Parallel()
	idleCfg := Config{Queues: []string{"q"}, PollInterval: time.Hour, BusyPollInterval: 10 * time.Millisecond, IdleAfter: time.Nanosecond}

	t.Run("busy worker polls at once", func(t *testing.T) {
		t.Parallel()
		cfg := idleCfg
		cfg.IdleAfter = time.Hour
		p := newPacer(cfg, make(chan struct{}))
		reached := make(chan struct{}, 1)
		require.ErrorIs(t, within(t, call(p.loop(true, nil, nil), false, reached), "the poll"), errEmpty)
		require.Len(t, reached, 1, "the script ran")
	})

	t.Run("idle worker waits for a wake-up, which makes it busy", func(t *testing.T) {
		t.Parallel()
		p := newPacer(idleCfg, make(chan struct{}))
		p.lastWork = time.Time{}
		l := p.loop(true, nil, nil)
		reached := make(chan struct{}, 2)
		done := call(l, false, reached)
		select {
		case <-done:
			require.Fail(t, "an idle poll ran before its wait (an hour) or a wake-up")
		case <-time.After(50 * time.Millisecond):
		}
		require.ErrorIs(t, wakeUntil(t, p, done, "the woken poll"), errEmpty)
		require.Len(t, reached, 1, "the woken poll ran its script")
		// Woken, the worker is busy for IdleAfter (here an hour): the
		// next poll runs at once.
		p.idleAfter = time.Hour
		l.lastCall = time.Time{}
		within(t, call(l, false, reached), "the next poll")
		require.Len(t, reached, 2)
	})

	t.Run("two tasks in a row after idling wake the fleet, one does not", func(t *testing.T) {
		t.Parallel()
		cfg := idleCfg
		cfg.IdleAfter = time.Hour
		p := newPacer(cfg, make(chan struct{}))
		published := 0
		p.publish = func() { published++ }
		l := p.loop(true, nil, nil)
		l.after(true, true)   // the first task after idling…
		l.after(false, false) // …and the queue is empty: a lone batch
		require.Zero(t, published, "one task after idling wakes nobody")
		l.after(true, true)  // the first task of a run…
		l.after(false, true) // …and a second one at once
		require.Equal(t, 1, published, "the fleet is woken")
		l.after(false, true)
		require.Equal(t, 1, published, "once")
	})

	t.Run("stopping ends a wait without polling", func(t *testing.T) {
		t.Parallel()
		stop := make(chan struct{})
		p := newPacer(idleCfg, stop)
		reached := make(chan struct{}, 1)
		done := call(p.loop(true, nil, nil), true, reached)
		close(stop)
		require.ErrorIs(t, within(t, done, "the stopped poll"), errEmpty)
		require.Empty(t, reached, "a stopping worker pulls no task")
	})

	t.Run("calls within a poll are not held back", func(t *testing.T) {
		t.Parallel()
		p := newPacer(idleCfg, make(chan struct{}))
		p.roundGap = time.Hour // every call follows the previous one closely
		l := p.loop(true, nil, nil)
		l.lastCall = time.Now()
		reached := make(chan struct{}, 1)
		within(t, call(l, false, reached), "the second queue's call")
		require.Len(t, reached, 1)
	})
}

func TestLoopPace(t *testing.T) {
	t.Parallel()
	cfg := Config{Queues: []string{"q"}, PollInterval: time.Hour, BusyPollInterval: 10 * time.Millisecond, IdleAfter: time.Hour}

	t.Run("two tasks in a row grow the loops, in any loop", func(t *testing.T) {
		t.Parallel()
		p := newPacer(cfg, make(chan struct{}))
		grown := 0
		grow := func() { grown++ }
		first, extra := p.loop(true, grow, nil), p.loop(false, grow, func() {})
		first.after(false, true)
		first.after(false, false)
		first.after(false, true)
		require.Zero(t, grown, "tasks one at a time: no backlog")
		first.after(false, true)
		require.Equal(t, 1, grown, "the first loop met a backlog")
		extra.after(false, true)
		require.Equal(t, 1, grown, "each loop counts its own calls")
		extra.after(false, true)
		require.Equal(t, 2, grown, "a loop beyond the first met a backlog")
	})

	t.Run("a loop beyond the first retires once it has found no task for IdleAfter", func(t *testing.T) {
		t.Parallel()
		c := cfg
		c.IdleAfter = 50 * time.Millisecond
		p := newPacer(c, make(chan struct{}))
		retired := 0
		l := p.loop(false, nil, func() { retired++ })
		reached := make(chan struct{}, 4)
		require.NoError(t, within(t, call(l, true, reached), "a call of a new loop"))
		require.Len(t, reached, 1, "a new loop sends its calls")
		time.Sleep(2 * c.IdleAfter)
		require.ErrorIs(t, within(t, call(l, true, reached), "the call after IdleAfter"), errEmpty)
		require.ErrorIs(t, within(t, call(l, true, reached), "a later call"), errEmpty)
		require.Len(t, reached, 1, "a retired loop sends no call")
		require.Equal(t, 1, retired, "retire is told once")
	})

	t.Run("a loop beyond the first is never held back, even while the process is idle", func(t *testing.T) {
		t.Parallel()
		c := cfg
		c.IdleAfter = time.Nanosecond
		p := newPacer(c, make(chan struct{}))
		l := p.loop(false, nil, func() {})
		l.lastGot = time.Now().Add(time.Hour) // not retiring
		reached := make(chan struct{}, 1)
		require.ErrorIs(t, within(t, call(l, false, reached), "the call"), errEmpty)
		require.Len(t, reached, 1, "the call was sent at once, not held back for PollInterval (an hour)")
	})

	t.Run("a loop beyond the first parks after a poll that found nothing, until a backlog", func(t *testing.T) {
		t.Parallel()
		p := newPacer(cfg, make(chan struct{}))
		first := p.loop(true, func() { p.unpark() }, nil)
		l := p.loop(false, nil, func() {})
		reached := make(chan struct{}, 4)
		require.ErrorIs(t, within(t, call(l, false, reached), "the first poll"), errEmpty)
		time.Sleep(2 * p.roundGap) // asynq's sleep after an empty poll
		parked := call(l, true, reached)
		select {
		case <-parked:
			require.Fail(t, "a loop whose poll found nothing polled again at once")
		case <-time.After(50 * time.Millisecond):
		}
		require.Len(t, reached, 1, "the parked loop sent no call")
		first.after(false, true)
		first.after(false, true) // the first loop meets a backlog
		require.NoError(t, within(t, parked, "the parked loop to go on"))
		require.Len(t, reached, 2)
	})

	t.Run("a parked loop retires at IdleAfter, or returns when the worker stops", func(t *testing.T) {
		t.Parallel()
		c := cfg
		c.IdleAfter = 100 * time.Millisecond
		stop := make(chan struct{})
		p := newPacer(c, stop)
		retired := 0
		l := p.loop(false, nil, func() { retired++ })
		reached := make(chan struct{}, 4)
		require.ErrorIs(t, within(t, call(l, false, reached), "the first poll"), errEmpty)
		time.Sleep(2 * p.roundGap)
		require.ErrorIs(t, within(t, call(l, false, reached), "the parked call to retire"), errEmpty)
		require.Equal(t, 1, retired)
		require.Len(t, reached, 1, "the parked, then retired, loop sent no call")

		l2 := p.loop(false, nil, func() {})
		l2.lastGot = time.Now().Add(time.Hour)
		require.ErrorIs(t, within(t, call(l2, false, reached), "the first poll"), errEmpty)
		time.Sleep(2 * p.roundGap)
		done := call(l2, false, reached)
		close(stop)
		require.ErrorIs(t, within(t, done, "the parked call once stopping"), errEmpty)
		require.Len(t, reached, 2)
	})

	t.Run("without pacing an idle first loop polls at once and wakes nobody", func(t *testing.T) {
		t.Parallel()
		c := cfg
		c.PollInterval, c.IdleAfter = c.BusyPollInterval, 50*time.Millisecond
		p := newPacer(c, make(chan struct{}))
		p.lastWork = time.Time{} // idle
		published := 0
		p.publish = func() { published++ }
		l := p.loop(true, nil, nil)
		reached := make(chan struct{}, 3)
		require.ErrorIs(t, within(t, call(l, false, reached), "the poll"), errEmpty)
		require.NoError(t, within(t, call(l, true, reached), "a task"))
		require.NoError(t, within(t, call(l, true, reached), "a second task"))
		require.Len(t, reached, 3, "every call was sent")
		require.Zero(t, published, "an unpaced worker wakes nobody")
	})
}

func TestInFlight(t *testing.T) {
	t.Parallel()
	var f inFlight
	f.wait(nil) // nothing in flight: returns at once
	f.add(1)
	f.add(1)
	done := make(chan struct{})
	go func() { f.wait(nil); close(done) }()
	f.add(-1)
	select {
	case <-done:
		require.Fail(t, "wait returned with a task in flight")
	case <-time.After(20 * time.Millisecond):
	}
	f.add(-1)
	within(t, done, "wait to return once nothing is in flight")

	stop := make(chan struct{})
	f.add(1)
	stopped := make(chan struct{})
	go func() { f.wait(stop); close(stopped) }()
	close(stop)
	within(t, stopped, "wait to return when stopped")
}
