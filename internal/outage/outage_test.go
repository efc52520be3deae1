package outage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/redistest"
)

func newTestRider(t *testing.T, bound time.Duration) (*Rider, *redistest.LogBuffer) {
	t.Helper()
	var logs redistest.LogBuffer
	return New(bound, slog.New(slog.NewTextHandler(&logs, nil))), &logs
}

var errRefused = fmt.Errorf("dial tcp 127.0.0.1:1: %w", syscall.ECONNREFUSED)

func TestRiderRidesOutTransientErrors(t *testing.T) {
	t.Parallel()
	o, logs := newTestRider(t, 10*time.Second)
	calls := 0
	err := o.Do(context.Background(), "enqueue", func() error {
		calls++
		if calls <= 3 {
			return errRefused
		}
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, 4, calls)
	require.Equal(t, 1, strings.Count(logs.String(), "redis unreachable; retrying with backoff"), logs.String())
	require.Equal(t, 1, strings.Count(logs.String(), "redis reachable again"), logs.String())
}

func TestRiderStopsAtOnceOnPermanentErrors(t *testing.T) {
	t.Parallel()
	for _, perm := range []error{
		errors.New("OOM command not allowed when used memory > 'maxmemory'."),
		errors.New("NOPERM no permissions"),
		errors.New("WRONGTYPE Operation against a key holding the wrong kind of value"),
	} {
		o, logs := newTestRider(t, 10*time.Second)
		calls := 0
		err := o.Do(context.Background(), "enqueue", func() error { calls++; return perm })
		require.Equal(t, perm, err)
		require.Equal(t, 1, calls, "attempts for %v", perm)
		require.Empty(t, logs.String())
	}
}

func TestRiderGivesUpAfterItsBound(t *testing.T) {
	t.Parallel()
	const bound = 700 * time.Millisecond
	o, logs := newTestRider(t, bound)
	start := time.Now()
	calls := 0
	err := o.Do(context.Background(), "wait for results", func() error { calls++; return errRefused })
	took := time.Since(start)
	require.ErrorIs(t, err, syscall.ECONNREFUSED)
	require.ErrorContains(t, err, "wait for results: gave up after Redis did not answer for")
	require.GreaterOrEqual(t, took, bound)
	require.Less(t, took, bound+time.Second, "gave up late")
	// Backoff 100, 200, 400 ms...: a handful of attempts, not a busy loop.
	require.GreaterOrEqual(t, calls, 3)
	require.LessOrEqual(t, calls, 6)
	require.Equal(t, 1, strings.Count(logs.String(), "redis unreachable"), logs.String())
}

func TestRiderStopsWhenCancelled(t *testing.T) {
	t.Parallel()
	o, _ := newTestRider(t, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	err := o.Do(ctx, "enqueue", func() error { return errRefused })
	require.ErrorIs(t, err, syscall.ECONNREFUSED)
	require.Less(t, time.Since(start), 5*time.Second)
}

// Many operations failing together in one outage log it once, and its end
// once.
func TestRiderLogsOncePerOutage(t *testing.T) {
	t.Parallel()
	o, logs := newTestRider(t, 10*time.Second)
	down := make(chan struct{})
	time.AfterFunc(400*time.Millisecond, func() { close(down) })
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for range cap(errs) {
		wg.Go(func() {
			errs <- o.Do(context.Background(), "enqueue", func() error {
				select {
				case <-down:
					return nil
				default:
					return errRefused
				}
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, 1, strings.Count(logs.String(), "redis unreachable"), logs.String())
	require.Equal(t, 1, strings.Count(logs.String(), "redis reachable again"), logs.String())

	// A failure within the aftershock of the outage's end belongs to it; a
	// later outage is logged again.
	calls := 0
	require.NoError(t, o.Do(context.Background(), "enqueue", func() error {
		calls++
		if calls == 1 {
			return errRefused
		}
		return nil
	}))
	require.Equal(t, 1, strings.Count(logs.String(), "redis unreachable"), "an aftershock logs nothing:\n%s", logs.String())
	o.Aftershock = 0
	calls = 0
	require.NoError(t, o.Do(context.Background(), "enqueue", func() error {
		calls++
		if calls == 1 {
			return errRefused
		}
		return nil
	}))
	require.Equal(t, 2, strings.Count(logs.String(), "redis unreachable"), logs.String())
}

// An attempt that started before the outage and succeeds late proves
// nothing about Redis now: the outage goes on until an attempt made during it
// succeeds.
func TestRiderIgnoresStaleSuccess(t *testing.T) {
	t.Parallel()
	o, logs := newTestRider(t, 10*time.Second)
	recv := func(ch <-chan error) error {
		t.Helper()
		select {
		case err := <-ch:
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("Do did not return")
			return nil
		}
	}
	entered, release, back := make(chan struct{}), make(chan struct{}), make(chan struct{})
	stale, fresh := make(chan error, 1), make(chan error, 1)
	go func() {
		stale <- o.Do(context.Background(), "enqueue", func() error {
			close(entered)
			<-release // answered by Redis before the outage, returns after it began
			return nil
		})
	}()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("first attempt never started")
	}
	time.Sleep(time.Millisecond) // the clock moves on before the outage begins
	go func() {
		calls := 0
		fresh <- o.Do(context.Background(), "enqueue", func() error {
			if calls++; calls == 1 {
				return errRefused
			}
			<-back
			return nil
		})
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "redis unreachable") {
		require.True(t, time.Now().Before(deadline), "outage never logged")
		time.Sleep(5 * time.Millisecond)
	}
	close(release)
	require.NoError(t, recv(stale))
	require.NotContains(t, logs.String(), "redis reachable again", "a stale success ended the outage")
	close(back)
	require.NoError(t, recv(fresh))
	require.Equal(t, 1, strings.Count(logs.String(), "redis unreachable"), logs.String())
	require.Equal(t, 1, strings.Count(logs.String(), "redis reachable again"), logs.String())
}
