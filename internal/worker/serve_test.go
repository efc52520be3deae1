package worker_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/redisconn"
	"bitqueue/internal/worker"
	"bitqueue/redistest"
)

// TestHookRunsOncePerProcess serves 500 tasks 50 at a time and checks that the
// hook ran once, before any task, and that every handler invocation got that
// one state.
func TestHookRunsOncePerProcess(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	queue, _ := r.Namespace(t)
	const (
		tasks       = 500
		concurrency = 50
		// The first handlers wait until this many run at once, so the test
		// shows the state really is shared by concurrent invocations.
		together = 10
	)
	ids := enqueue(t, r, queue, "once", tasks)

	type state struct{ builtAt time.Time }
	var (
		hookCalls, newHandlerCalls atomic.Int32
		built                      atomic.Pointer[state]
		early                      atomic.Int32 // invocations that began before the hook returned
		mixedUp                    atomic.Int32 // invocations whose task id and payload differ
		gateTimeouts               atomic.Int32
		inFlight                   atomic.Int32
		openGate                   sync.Once
		gate                       = make(chan struct{})
		seenMu                     sync.Mutex
		seen                       = map[*state]int{} // state pointer → invocations that saw it
		handled                    = newTally()
	)
	hook := worker.HookFunc[*state](func(context.Context) (*state, error) {
		hookCalls.Add(1)
		s := &state{builtAt: time.Now()}
		built.Store(s)
		return s, nil
	})
	newHandler := func(s *state) asynq.Handler {
		newHandlerCalls.Add(1)
		return asynq.HandlerFunc(func(ctx context.Context, task *asynq.Task) error {
			if built.Load() == nil {
				early.Add(1)
			}
			if inFlight.Add(1) >= together {
				openGate.Do(func() { close(gate) })
			}
			defer inFlight.Add(-1)
			select {
			case <-gate:
			case <-time.After(10 * time.Second):
				gateTimeouts.Add(1)
			}
			seenMu.Lock()
			seen[s]++
			seenMu.Unlock()
			id, _ := asynq.GetTaskID(ctx)
			if id != string(task.Payload()) {
				mixedUp.Add(1)
			}
			handled.add(id)
			return nil
		})
	}

	srv := startServe(t, testConfig(t, r, queue, concurrency), hook, newHandler)
	waitUntil(t, 20*time.Second, "every task to be handled", func() bool { return handled.distinct() == tasks })
	waitUntil(t, 10*time.Second, "the queue to be empty", func() bool { return queueDrained(t, r, queue) })
	require.NoError(t, srv.stop(t, 15*time.Second))

	require.EqualValues(t, 1, hookCalls.Load(), "hook calls")
	require.EqualValues(t, 1, newHandlerCalls.Load(), "newHandler calls")
	require.Zero(t, early.Load(), "handler invocations that began before the hook returned")
	require.Zero(t, gateTimeouts.Load(), "%d handlers never ran at once", together)
	require.Zero(t, mixedUp.Load(), "invocations whose task id and payload differ")
	handled.requireExactlyOnce(t, ids)
	seenMu.Lock()
	defer seenMu.Unlock()
	require.Equal(t, map[*state]int{built.Load(): tasks}, seen, "state each handler invocation saw")
}

// TestSlowHookDelaysServing starts a worker whose hook takes 2 s and checks
// that no task is pulled until the hook returns, and that afterwards every
// task is processed exactly once.
func TestSlowHookDelaysServing(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	queue, _ := r.Namespace(t)
	const tasks = 40
	ids := enqueue(t, r, queue, "slow", tasks)

	hookStarted := make(chan struct{})
	var hookReturned atomic.Bool
	var early atomic.Int32
	hook := worker.HookFunc[string](func(ctx context.Context) (string, error) {
		close(hookStarted)
		defer hookReturned.Store(true)
		select {
		case <-time.After(2 * time.Second):
			return "ready", nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	})
	handled := newTally()
	newHandler := func(s string) asynq.Handler {
		return asynq.HandlerFunc(func(ctx context.Context, _ *asynq.Task) error {
			if !hookReturned.Load() || s != "ready" {
				early.Add(1)
			}
			id, _ := asynq.GetTaskID(ctx)
			handled.add(id)
			return nil
		})
	}

	srv := startServe(t, testConfig(t, r, queue, 8), hook, newHandler)
	recv(t, hookStarted, 10*time.Second, "the hook to start")
	// A look at the queue counts only if the hook was still running once
	// the answer was in: then no task could have been pulled before it.
	looks := 0
	for range 5 {
		info := queueInfo(t, r, queue)
		if hookReturned.Load() {
			break
		}
		looks++
		require.Equal(t, tasks, info.Pending, "pending tasks while the hook runs")
		require.Zero(t, info.Active, "active tasks while the hook runs")
		require.Zero(t, info.Processed, "processed tasks while the hook runs")
		time.Sleep(200 * time.Millisecond)
	}
	require.GreaterOrEqual(t, looks, 2, "looks at the queue while the hook ran")

	waitUntil(t, 15*time.Second, "every task to be handled", func() bool { return handled.distinct() == tasks })
	waitUntil(t, 10*time.Second, "the queue to be empty", func() bool { return queueDrained(t, r, queue) })
	require.NoError(t, srv.stop(t, 15*time.Second))
	require.Zero(t, early.Load(), "tasks handled before the hook returned")
	handled.requireExactlyOnce(t, ids)
}

// TestRedisNeverAnswers points a worker at a closed port: Serve must give up
// after RedisWait with an error naming the URL, password redacted, and never
// build a handler.
func TestRedisNeverAnswers(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	const password = "s3cret-pa55"
	url := "redis://:" + password + "@" + addr + "/0"
	db, err := redisconn.Setup{URL: url, PoolSize: 0}.Open()
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	log, logs := testLogger(t)

	var hookCalls, newHandlerCalls atomic.Int32
	hook := worker.HookFunc[int](func(context.Context) (int, error) {
		hookCalls.Add(1)
		return 42, nil
	})
	newHandler := func(int) asynq.Handler {
		newHandlerCalls.Add(1)
		return asynq.HandlerFunc(func(context.Context, *asynq.Task) error { return nil })
	}
	srv := startServe(t, worker.Config{
		RDB:       db,
		RedisURL:  url,
		RedisWait: 500 * time.Millisecond,
		Queues:    []string{"never-served"},
		Logger:    log,
	}, hook, newHandler)

	err = srv.wait(t, 10*time.Second)
	require.Error(t, err)
	require.ErrorContains(t, err, "redis://:xxxxx@"+addr+"/0")
	require.ErrorContains(t, err, "did not answer")
	require.NotContains(t, err.Error(), password)
	require.NotContains(t, logs.String(), password, "logs")
	require.Contains(t, logs.String(), "redis not reachable yet", "logs")
	require.EqualValues(t, 1, hookCalls.Load(), "hook calls")
	require.Zero(t, newHandlerCalls.Load(), "newHandler calls")
}

// TestStopWhileWaitingForRedis stops a worker while it waits for a Redis that
// does not answer: that is a shutdown, not Redis timing out, so Serve returns
// nil (the process exits 0) without building a handler.
func TestStopWhileWaitingForRedis(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	url := "redis://" + ln.Addr().String() + "/0"
	require.NoError(t, ln.Close())
	db, err := redisconn.Setup{URL: url, PoolSize: 0}.Open()
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	log, logs := testLogger(t)

	var newHandlerCalls atomic.Int32
	srv := startServe(t, worker.Config{
		RDB:       db,
		RedisURL:  url,
		RedisWait: time.Hour,
		Queues:    []string{"never-served"},
		Logger:    log,
	}, worker.HookFunc[int](func(context.Context) (int, error) { return 1, nil }), func(int) asynq.Handler {
		newHandlerCalls.Add(1)
		return asynq.HandlerFunc(func(context.Context, *asynq.Task) error { return nil })
	})
	waitUntil(t, 10*time.Second, "Serve to be waiting for Redis", func() bool {
		return strings.Contains(logs.String(), "redis not reachable yet")
	})
	require.NoError(t, srv.stop(t, 10*time.Second))
	require.Zero(t, newHandlerCalls.Load(), "newHandler calls")
}

// TestShutdownHandsBackUnfinishedTask cancels Serve while a task is stuck in
// its handler: Serve must return nil after ShutdownTimeout and the task must
// be back in the queue, where the next worker picks it up.
func TestShutdownHandsBackUnfinishedTask(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	queue, _ := r.Namespace(t)
	ids := enqueue(t, r, queue, "stuck", 1)

	started := make(chan struct{}, 1)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	exited := make(chan error, 1)
	stuck := func(struct{}) asynq.Handler {
		return asynq.HandlerFunc(func(ctx context.Context, _ *asynq.Task) error {
			started <- struct{}{}
			select {
			case <-ctx.Done():
				exited <- ctx.Err()
				return ctx.Err()
			case <-release:
				exited <- errors.New("released by the test, never cancelled")
				return nil
			}
		})
	}
	noState := worker.HookFunc[struct{}](func(context.Context) (struct{}, error) { return struct{}{}, nil })

	cfg := testConfig(t, r, queue, 2)
	cfg.ShutdownTimeout = 500 * time.Millisecond
	srv := startServe(t, cfg, noState, stuck)
	recv(t, started, 10*time.Second, "the handler to start")
	require.Equal(t, 1, queueInfo(t, r, queue).Active, "active tasks while the handler is stuck")

	require.NoError(t, srv.stop(t, cfg.ShutdownTimeout+5*time.Second))
	info := queueInfo(t, r, queue)
	require.Zero(t, info.Active, "active tasks after shutdown")
	require.Zero(t, info.Completed, "completed tasks after shutdown")
	require.Equal(t, 1, info.Pending+info.Retry, "tasks pending or to retry after shutdown")
	ti, err := asynq.NewInspectorFromRedisClient(r.Client).GetTaskInfo(queue, ids[0])
	require.NoError(t, err)
	require.Contains(t, []asynq.TaskState{asynq.TaskStatePending, asynq.TaskStateRetry}, ti.State)
	// Once the task is handed back, its handler is told to stop.
	require.ErrorIs(t, recv(t, exited, 10*time.Second, "the stuck handler to return"), context.Canceled)

	// Not lost: the next worker process gets it.
	handled := newTally()
	next := startServe(t, testConfig(t, r, queue, 2), noState, func(struct{}) asynq.Handler {
		return asynq.HandlerFunc(func(ctx context.Context, _ *asynq.Task) error {
			id, _ := asynq.GetTaskID(ctx)
			handled.add(id)
			return nil
		})
	})
	waitUntil(t, 15*time.Second, "the handed-back task to be handled again", func() bool { return handled.distinct() == 1 })
	waitUntil(t, 10*time.Second, "the queue to be empty", func() bool { return queueDrained(t, r, queue) })
	require.NoError(t, next.stop(t, 15*time.Second))
	handled.requireExactlyOnce(t, ids)
}

// TestNoQueues checks Serve refuses to start, without calling the hook, when
// it has no queue to serve.
func TestNoQueues(t *testing.T) {
	var hookCalls atomic.Int32
	err := worker.Serve(context.Background(), worker.Config{}, worker.HookFunc[int](func(context.Context) (int, error) {
		hookCalls.Add(1)
		return 0, nil
	}), func(int) asynq.Handler {
		t.Error("newHandler called")
		return nil
	})
	require.ErrorContains(t, err, "no queues")
	require.Zero(t, hookCalls.Load())
}
