package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/rdb"
	"bitqueue/internal/worker"
	"bitqueue/redistest"
)

// idleWorker serves queue with the pacer on: idle 100 ms after its last task,
// then polling every poll, listening for wake-ups on the channel of prefix.
// It returns a channel that receives the id of every task handled.
func idleWorker(t *testing.T, r *redistest.Redis, queue, prefix string, poll time.Duration) <-chan string {
	t.Helper()
	cfg := testConfig(t, r, queue, 2)
	cfg.PollInterval = poll
	cfg.BusyPollInterval = 10 * time.Millisecond
	cfg.IdleAfter = 100 * time.Millisecond
	cfg.RDB = cfg.RDB.WithPrefix(prefix)
	handled := make(chan string, 16)
	startServe(t, cfg, worker.HookFunc[int](func(context.Context) (int, error) { return 0, nil }),
		func(int) asynq.Handler {
			return asynq.HandlerFunc(func(ctx context.Context, _ *asynq.Task) error {
				id, _ := asynq.GetTaskID(ctx)
				handled <- id
				return nil
			})
		})
	waitUntil(t, 10*time.Second, "the worker to register", func() bool {
		servers, err := asynq.NewInspectorFromRedisClient(r.Client).Servers()
		require.NoError(t, err)
		for _, s := range servers {
			if _, ok := s.Queues[queue]; ok {
				return true
			}
		}
		return false
	})
	return handled
}

// TestWakeUpEndsIdleWait: a worker idle with a poll period of a minute (so
// that it would not poll again for at least 30 s) pulls a task within the
// test's patience once woken.
func TestWakeUpEndsIdleWait(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	queue, prefix := r.Namespace(t)
	handled := idleWorker(t, r, queue, prefix, time.Minute)
	time.Sleep(500 * time.Millisecond) // idle: five times IdleAfter without a task

	ids := enqueue(t, r, queue, "woken", 1)
	ctx := context.Background()
	stop := wakeEvery(ctx, rdb.New(r.Client, prefix), 100*time.Millisecond)
	defer stop()
	require.Equal(t, ids[0], recv(t, handled, 20*time.Second, "the task after a wake-up"))
}

// TestIdleWorkerPolls: without a wake-up, an idle worker still finds a task
// by polling.
func TestIdleWorkerPolls(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	queue, prefix := r.Namespace(t)
	handled := idleWorker(t, r, queue, prefix, 200*time.Millisecond)
	time.Sleep(500 * time.Millisecond)

	ids := enqueue(t, r, queue, "polled", 2)
	got := []string{recv(t, handled, 20*time.Second, "the first task"), recv(t, handled, 20*time.Second, "the second task")}
	require.ElementsMatch(t, ids, got)
}

// TestIdleWorkerStopsAtOnce: a worker stopping while it waits to poll (a
// minute) returns without waiting for the poll.
func TestIdleWorkerStopsAtOnce(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	queue, prefix := r.Namespace(t)
	cfg := testConfig(t, r, queue, 2)
	cfg.PollInterval = time.Minute
	cfg.BusyPollInterval = 10 * time.Millisecond
	cfg.IdleAfter = 100 * time.Millisecond
	cfg.RDB = cfg.RDB.WithPrefix(prefix)
	s := startServe(t, cfg, worker.HookFunc[int](func(context.Context) (int, error) { return 0, nil }),
		func(int) asynq.Handler {
			return asynq.HandlerFunc(func(context.Context, *asynq.Task) error { return nil })
		})
	time.Sleep(500 * time.Millisecond) // into an idle wait of 30 s or more
	require.NoError(t, s.stop(t, 20*time.Second))
}

// wakeEvery wakes the listeners of one shard channel of db's fleet at once
// and then every period, as a producer does while it enqueues, until the
// returned stop is called.
func wakeEvery(ctx context.Context, db *rdb.RDB, period time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			_, _ = db.WakeSome(ctx)
			select {
			case <-ctx.Done():
				return
			case <-time.After(period):
			}
		}
	}()
	return func() { cancel(); <-done }
}
