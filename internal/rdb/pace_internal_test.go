package rdb

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
// queue q.
func dequeueCmd(name, q string) *redis.Cmd {
	tag := "asynq:{" + q + "}:"
	return redis.NewCmd(context.Background(), name, "0123456789abcdef", 4,
		tag+"pending", tag+"paused", tag+"active", tag+"lease", int64(1700000000), tag+"t:")
}

func TestIsDequeue(t *testing.T) {
	t.Parallel()
	h := dequeueHook{queues: map[string]bool{"bits": true, "bits-1": true}}
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
			require.Equal(t, tt.want, h.isDequeue(tt.cmd))
		})
	}
}

// TestIsDequeueOfAsynq checks that the hook recognises the dequeue calls of
// the asynq version in use: a server polling an empty queue makes them.
func TestIsDequeueOfAsynq(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	queue, _ := r.Namespace(t)
	client := redis.NewClient(r.Client.Options())
	t.Cleanup(func() { client.Close() })
	h := dequeueHook{queues: map[string]bool{queue: true}}
	seen := make(chan struct{}, 1)
	client.AddHook(hookFunc(func(ctx context.Context, cmd redis.Cmder, next redis.ProcessHook) error {
		if h.isDequeue(cmd) {
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

// TestHookDequeues runs a dequeue call and another command through the hook
// on a real client: the dequeue is held back by before and reported to
// after; the other command passes untouched; a call before refuses finds its
// queue empty without reaching Redis.
func TestHookDequeues(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	queue, _ := r.Namespace(t)
	client := redis.NewClient(r.Client.Options())
	t.Cleanup(func() { client.Close() })
	proceed := true
	var befores, afters int
	New(client, "").HookDequeues([]string{queue}, func() (bool, bool) { befores++; return true, proceed }, func(idle, found bool) {
		afters++
		require.True(t, idle)
		require.False(t, found, "an empty queue")
	})
	ctx := context.Background()
	require.NoError(t, client.Ping(ctx).Err())
	require.Zero(t, befores, "a PING is not a dequeue")
	tag := "asynq:{" + queue + "}:"
	dequeue := func() error {
		return client.Eval(ctx, "return redis.call('LPOP', KEYS[1])", []string{tag + "pending", tag + "paused", tag + "active", tag + "lease"}, 1, tag+"t:").Err()
	}
	require.ErrorIs(t, dequeue(), redis.Nil)
	require.Equal(t, []int{1, 1}, []int{befores, afters})
	proceed = false
	require.ErrorIs(t, dequeue(), redis.Nil, "a refused call finds the queue empty")
	require.Equal(t, []int{2, 1}, []int{befores, afters}, "and is not sent")
}
