package worker_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/rdb"
	"bitqueue/internal/redisconn"
	"bitqueue/internal/worker"
	"bitqueue/redistest"
)

// withLoops sets cfg to run up to n dequeue loops, each beyond the first on
// a client of its own to r, idle (and the loops beyond the first retired)
// after idleAfter without a task. It returns how many clients Open opened.
func withLoops(t testing.TB, cfg *worker.Config, r *redistest.Redis, n int, idleAfter time.Duration) *atomic.Int32 {
	t.Helper()
	var opened atomic.Int32
	cfg.Loops = n
	cfg.IdleAfter = idleAfter
	cfg.Open = func() (*rdb.RDB, error) {
		opened.Add(1)
		return redisconn.Setup{URL: r.URL, PoolSize: cfg.Concurrency + 10}.Open()
	}
	return &opened
}

// servers returns how many live asynq servers serve queue: a worker process
// runs one per running loop.
func servers(t testing.TB, r *redistest.Redis, queue string) int {
	t.Helper()
	all, err := asynq.NewInspectorFromRedisClient(r.Client).Servers()
	require.NoError(t, err)
	n := 0
	for _, s := range all {
		if _, ok := s.Queues[queue]; ok {
			n++
		}
	}
	return n
}

// TestLoopsGrowWithABacklogAndShrinkWhenIdle: a process of up to four loops
// meets a backlog of 400 tasks and runs more than one loop, all on the one
// state of one hook call and the one handler; every task is handled once;
// once idle, the process is back to one loop, whose server alone stays
// registered.
func TestLoopsGrowWithABacklogAndShrinkWhenIdle(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	queue, _ := r.Namespace(t)
	cfg := testConfig(t, r, queue, 2)
	opened := withLoops(t, &cfg, r, 4, 300*time.Millisecond)
	ids := enqueue(t, r, queue, "loops", 400)

	var hookCalls, newHandlerCalls, wrongState atomic.Int32
	handled := newTally()
	type state struct{ n int }
	hook := worker.HookFunc[*state](func(context.Context) (*state, error) {
		hookCalls.Add(1)
		return &state{n: 42}, nil
	})
	startServe(t, cfg, hook, func(s *state) asynq.Handler {
		newHandlerCalls.Add(1)
		return asynq.HandlerFunc(func(ctx context.Context, _ *asynq.Task) error {
			if s.n != 42 {
				wrongState.Add(1)
			}
			time.Sleep(2 * time.Millisecond) // a backlog stays while the loops start
			id, _ := asynq.GetTaskID(ctx)
			handled.add(id)
			return nil
		})
	})
	most := 0
	waitUntil(t, time.Minute, "every task handled", func() bool {
		most = max(most, servers(t, r, queue))
		return queueDrained(t, r, queue)
	})
	t.Logf("at most %d loops ran; %d clients opened", most, opened.Load())
	require.Greater(t, most, 1, "a backlog of 400 tasks started no loop beyond the first")
	require.LessOrEqual(t, most, 4, "more loops than Loops")
	handled.requireExactlyOnce(t, ids)
	require.Equal(t, int32(1), hookCalls.Load(), "hook calls")
	require.Equal(t, int32(1), newHandlerCalls.Load(), "handlers built")
	require.Zero(t, wrongState.Load(), "tasks that saw another state")
	waitUntil(t, 30*time.Second, "the loops beyond the first to stop once idle", func() bool { return servers(t, r, queue) == 1 })
}

// TestLoopsShutdownDrains: a process of three loops, each holding two slow
// tasks, stops: every task in flight finishes, none is handed back half
// done, the rest stay pending, and Serve returns within its shutdown
// timeout with no server left registered.
func TestLoopsShutdownDrains(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	queue, _ := r.Namespace(t)
	cfg := testConfig(t, r, queue, 2)
	cfg.ShutdownTimeout = 5 * time.Second
	withLoops(t, &cfg, r, 3, time.Minute)
	const tasks = 40
	enqueue(t, r, queue, "drain", tasks)

	var started, finished atomic.Int32
	s := startServe(t, cfg, worker.HookFunc[int](func(context.Context) (int, error) { return 0, nil }),
		func(int) asynq.Handler {
			return asynq.HandlerFunc(func(ctx context.Context, _ *asynq.Task) error {
				started.Add(1)
				select {
				case <-time.After(500 * time.Millisecond):
				case <-ctx.Done():
					return ctx.Err()
				}
				finished.Add(1)
				return nil
			})
		})
	waitUntil(t, 30*time.Second, "three loops, each with tasks in flight", func() bool {
		return servers(t, r, queue) == 3 && queueInfo(t, r, queue).Active == 6
	})

	began := time.Now()
	require.NoError(t, s.stop(t, cfg.ShutdownTimeout+10*time.Second))
	took := time.Since(began)
	t.Logf("Serve returned %s after its cancellation; %d tasks started, %d finished", took.Round(time.Millisecond), started.Load(), finished.Load())
	require.Less(t, took, cfg.ShutdownTimeout, "the loops shut down one after another, or a task was cut off")
	require.Equal(t, started.Load(), finished.Load(), "tasks in flight that did not finish")
	info := queueInfo(t, r, queue)
	require.Zero(t, info.Active, "tasks left active")
	require.Zero(t, info.Retry+info.Archived, "tasks failed by the shutdown")
	require.Equal(t, tasks-int(finished.Load()), info.Pending, "tasks not handled, back in the queue")
	require.Zero(t, servers(t, r, queue), "servers still registered")
}

// TestLoopsNeedOpen: more than one loop without a way to open their clients
// is refused before the hook runs.
func TestLoopsNeedOpen(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	queue, _ := r.Namespace(t)
	cfg := testConfig(t, r, queue, 2)
	cfg.Loops = 2
	hooked := false
	err := worker.Serve(context.Background(), cfg, worker.HookFunc[int](func(context.Context) (int, error) {
		hooked = true
		return 0, nil
	}), func(int) asynq.Handler {
		return asynq.HandlerFunc(func(context.Context, *asynq.Task) error { return nil })
	})
	require.ErrorContains(t, err, "2 loops, and no Open")
	require.False(t, hooked, "the hook ran")
}
