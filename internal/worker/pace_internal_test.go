package worker

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// errEmpty is what a dequeue call finds in an empty queue.
var errEmpty = errors.New("empty queue")

// call runs a dequeue call as rdb.HookDequeues does, with p's before and
// after around it, in a goroutine: the call records being reached and finds
// the queue empty (or a task when task is set). It returns a channel that
// receives the call's error: errEmpty when before held it back for good.
func call(p *pacer, task bool, reached chan<- struct{}) <-chan error {
	done := make(chan error, 1)
	go func() {
		idle, proceed := p.before()
		if !proceed {
			done <- errEmpty
			return
		}
		reached <- struct{}{}
		p.after(idle, task)
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
		require.ErrorIs(t, within(t, call(p, false, reached), "the poll"), errEmpty)
		require.Len(t, reached, 1, "the script ran")
	})

	t.Run("idle worker waits for a wake-up, which makes it busy", func(t *testing.T) {
		t.Parallel()
		p := newPacer(idleCfg, make(chan struct{}))
		p.lastWork = time.Time{}
		reached := make(chan struct{}, 2)
		done := call(p, false, reached)
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
		p.lastCall = time.Time{}
		within(t, call(p, false, reached), "the next poll")
		require.Len(t, reached, 2)
	})

	t.Run("two tasks in a row after idling wake the fleet, one does not", func(t *testing.T) {
		t.Parallel()
		cfg := idleCfg
		cfg.IdleAfter = time.Hour
		p := newPacer(cfg, make(chan struct{}))
		published := 0
		p.publish = func() { published++ }
		p.afterCall(true, true)   // the first task after idling…
		p.afterCall(false, false) // …and the queue is empty: a lone batch
		require.Zero(t, published, "one task after idling wakes nobody")
		p.afterCall(true, true)  // the first task of a run…
		p.afterCall(false, true) // …and a second one at once
		require.Equal(t, 1, published, "the fleet is woken")
		p.afterCall(false, true)
		require.Equal(t, 1, published, "once")
	})

	t.Run("stopping ends a wait without polling", func(t *testing.T) {
		t.Parallel()
		stop := make(chan struct{})
		p := newPacer(idleCfg, stop)
		reached := make(chan struct{}, 1)
		done := call(p, true, reached)
		close(stop)
		require.ErrorIs(t, within(t, done, "the stopped poll"), errEmpty)
		require.Empty(t, reached, "a stopping worker pulls no task")
	})

	t.Run("calls within a poll are not held back", func(t *testing.T) {
		t.Parallel()
		p := newPacer(idleCfg, make(chan struct{}))
		p.roundGap = time.Hour // every call follows the previous one closely
		p.lastCall = time.Now()
		reached := make(chan struct{}, 1)
		within(t, call(p, false, reached), "the second queue's call")
		require.Len(t, reached, 1)
	})
}
