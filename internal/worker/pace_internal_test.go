package worker

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"bitqueue/redistest"
)

// dequeueCmd builds a script call shaped like asynq v0.26.0's dequeue of
// queue q (see rdb.Dequeue).
func dequeueCmd(name, q string) *redis.Cmd {
	tag := "asynq:{" + q + "}:"
	return redis.NewCmd(context.Background(), name, "0123456789abcdef", 4,
		tag+"pending", tag+"paused", tag+"active", tag+"lease", int64(1700000000), tag+"t:")
}

func TestIsDequeue(t *testing.T) {
	t.Parallel()
	p := newPacer(Config{Queues: []string{"bits", "bits-1"}, PollInterval: time.Second, BusyPollInterval: time.Millisecond}, nil)
	tests := []struct {
		name string
		cmd  redis.Cmder
		want bool
	}{
		{"evalsha on a served queue", dequeueCmd("evalsha", "bits"), true},
		{"eval, after NOSCRIPT", dequeueCmd("eval", "bits-1"), true},
		{"another queue", dequeueCmd("evalsha", "other"), false},
		{"a queue whose name extends a served one", dequeueCmd("evalsha", "bits-10"), false},
		{"another script on the pending list", redis.NewCmd(context.Background(), "evalsha", "x", 4,
			"asynq:{bits}:pending", "asynq:{bits}:active", "asynq:{bits}:lease", "asynq:{bits}:paused", 1, "p"), false},
		{"three keys", redis.NewCmd(context.Background(), "evalsha", "x", 3,
			"asynq:{bits}:pending", "asynq:{bits}:paused", "asynq:{bits}:active", "asynq:{bits}:lease"), false},
		{"not a script", redis.NewCmd(context.Background(), "rpoplpush", "asynq:{bits}:pending", "asynq:{bits}:active"), false},
		{"ping", redis.NewStatusCmd(context.Background(), "ping"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, p.isDequeue(tt.cmd))
		})
	}
}

// TestIsDequeueOfAsynq checks that the pacer recognises the dequeue calls of
// the asynq version in use: a server polling an empty queue makes them.
func TestIsDequeueOfAsynq(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	queue, _ := r.Namespace(t)
	client := redis.NewClient(r.Client.Options())
	t.Cleanup(func() { client.Close() })
	p := newPacer(Config{Queues: []string{queue}, PollInterval: time.Second, BusyPollInterval: time.Millisecond}, nil)
	seen := make(chan struct{}, 1)
	client.AddHook(hookFunc(func(ctx context.Context, cmd redis.Cmder, next redis.ProcessHook) error {
		if p.isDequeue(cmd) {
			select {
			case seen <- struct{}{}:
			default:
			}
		}
		return next(ctx, cmd)
	}))
	srv := asynq.NewServerFromRedisClient(client, asynq.Config{
		Queues: map[string]int{queue: 1}, TaskCheckInterval: 10 * time.Millisecond, LogLevel: asynq.FatalLevel,
	})
	require.NoError(t, srv.Start(asynq.HandlerFunc(func(context.Context, *asynq.Task) error { return nil })))
	t.Cleanup(srv.Shutdown)
	select {
	case <-seen:
	case <-time.After(30 * time.Second):
		require.Fail(t, "no call of asynq's dequeue script recognised in 30s")
	}
}

type hookFunc func(ctx context.Context, cmd redis.Cmder, next redis.ProcessHook) error

func (hookFunc) DialHook(next redis.DialHook) redis.DialHook { return next }
func (hookFunc) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (h hookFunc) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { return h(ctx, cmd, next) }
}

// call runs cmd through the pacer's hook in a goroutine, with a next that
// records being reached and answers as Redis would for an empty queue (or
// with a task when task is set). It returns a channel that receives the
// hook's error.
func call(p *pacer, cmd redis.Cmder, task bool, reached chan<- struct{}) <-chan error {
	next := func(ctx context.Context, cmd redis.Cmder) error {
		reached <- struct{}{}
		if task {
			return nil
		}
		cmd.SetErr(redis.Nil)
		return redis.Nil
	}
	done := make(chan error, 1)
	go func() { done <- paceHook{p}.ProcessHook(next)(context.Background(), cmd) }()
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

func TestPacerHook(t *testing.T) {
	t.Parallel()
	idleCfg := Config{Queues: []string{"q"}, PollInterval: time.Hour, BusyPollInterval: 10 * time.Millisecond, IdleAfter: time.Nanosecond}

	t.Run("busy worker polls at once", func(t *testing.T) {
		t.Parallel()
		cfg := idleCfg
		cfg.IdleAfter = time.Hour
		p := newPacer(cfg, make(chan struct{}))
		reached := make(chan struct{}, 1)
		require.ErrorIs(t, within(t, call(p, dequeueCmd("evalsha", "q"), false, reached), "the poll"), redis.Nil)
		require.Len(t, reached, 1, "the script ran")
	})

	t.Run("other commands pass", func(t *testing.T) {
		t.Parallel()
		p := newPacer(idleCfg, make(chan struct{}))
		reached := make(chan struct{}, 1)
		within(t, call(p, redis.NewStatusCmd(context.Background(), "ping"), true, reached), "the ping")
		require.Len(t, reached, 1)
	})

	t.Run("idle worker waits for a wake-up, which makes it busy", func(t *testing.T) {
		t.Parallel()
		p := newPacer(idleCfg, make(chan struct{}))
		p.lastWork = time.Time{}
		reached := make(chan struct{}, 2)
		done := call(p, dequeueCmd("evalsha", "q"), false, reached)
		select {
		case <-done:
			require.Fail(t, "an idle poll ran before its wait (an hour) or a wake-up")
		case <-time.After(50 * time.Millisecond):
		}
		require.ErrorIs(t, wakeUntil(t, p, done, "the woken poll"), redis.Nil)
		require.Len(t, reached, 1, "the woken poll ran its script")
		// Woken, the worker is busy for IdleAfter (here an hour): the
		// next poll runs at once.
		p.idleAfter = time.Hour
		p.lastCall = time.Time{}
		within(t, call(p, dequeueCmd("evalsha", "q"), false, reached), "the next poll")
		require.Len(t, reached, 2)
	})

	t.Run("two tasks in a row after idling wake the fleet, one does not", func(t *testing.T) {
		t.Parallel()
		cfg := idleCfg
		cfg.IdleAfter = time.Hour
		p := newPacer(cfg, make(chan struct{}))
		published := 0
		p.publish = func() { published++ }
		p.afterCall(true, nil)        // the first task after idling…
		p.afterCall(false, redis.Nil) // …and the queue is empty: a lone batch
		require.Zero(t, published, "one task after idling wakes nobody")
		p.afterCall(true, nil)  // the first task of a run…
		p.afterCall(false, nil) // …and a second one at once
		require.Equal(t, 1, published, "the fleet is woken")
		p.afterCall(false, nil)
		require.Equal(t, 1, published, "once")
	})

	t.Run("stopping ends a wait without polling", func(t *testing.T) {
		t.Parallel()
		stop := make(chan struct{})
		p := newPacer(idleCfg, stop)
		reached := make(chan struct{}, 1)
		done := call(p, dequeueCmd("evalsha", "q"), true, reached)
		close(stop)
		require.ErrorIs(t, within(t, done, "the stopped poll"), redis.Nil)
		require.Empty(t, reached, "a stopping worker pulls no task")
	})

	t.Run("calls within a poll are not held back", func(t *testing.T) {
		t.Parallel()
		p := newPacer(idleCfg, make(chan struct{}))
		p.roundGap = time.Hour // every call follows the previous one closely
		p.lastCall = time.Now()
		reached := make(chan struct{}, 1)
		within(t, call(p, dequeueCmd("evalsha", "q"), false, reached), "the second queue's call")
		require.Len(t, reached, 1)
	})
}
