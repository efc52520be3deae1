package worker_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/health"
	"bitqueue/internal/redisconn"
	"bitqueue/internal/worker"
)

// TestReadinessFollowsServe walks a worker through its life — hook running,
// Redis not there yet, serving, Redis lost and back, shutdown — and checks
// what Serve reports to its Readiness at each step. It needs a Redis it can
// stop and restart, so it uses an embedded one whatever REDIS_URL says.
func TestReadinessFollowsServe(t *testing.T) {
	t.Parallel()
	m := miniredis.NewMiniRedis()
	require.NoError(t, m.Start())
	t.Cleanup(m.Close)
	url := "redis://" + m.Addr() + "/0"
	m.Close() // Redis is down when the worker starts

	db, err := redisconn.Setup{URL: url, PoolSize: 0}.Open()
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	log, logs := testLogger(t)
	hs := health.New(nil)
	release := make(chan struct{})
	var handled, handledUnready atomic.Int32
	srv := startServe(t, worker.Config{
		RDB:                 db,
		RedisURL:            url,
		RedisWait:           time.Minute,
		Queues:              []string{"ready-test"},
		PollInterval:        10 * time.Millisecond,
		ShutdownTimeout:     time.Second,
		Logger:              log,
		Readiness:           hs.Report,
		StartupReason:       "building test state",
		HealthCheckInterval: 100 * time.Millisecond,
	}, worker.HookFunc[int](func(ctx context.Context) (int, error) {
		select {
		case <-release:
			return 1, nil
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}), func(int) asynq.Handler {
		return asynq.HandlerFunc(func(context.Context, *asynq.Task) error {
			if ready, _ := hs.Ready(); !ready {
				handledUnready.Add(1)
			}
			handled.Add(1)
			return nil
		})
	})

	waitReason := func(what, want string) {
		t.Helper()
		waitUntil(t, 20*time.Second, what, func() bool {
			ready, reason := hs.Ready()
			return !ready && strings.HasPrefix(reason, want)
		})
	}
	waitReady := func(what string) {
		t.Helper()
		waitUntil(t, 20*time.Second, what, func() bool { ready, _ := hs.Ready(); return ready })
	}

	waitReason("not ready while the hook runs", "building test state")
	close(release)
	waitReason("not ready while Redis is down", "waiting for Redis")
	require.NoError(t, m.Restart())
	waitReady("ready once Redis answers")

	c := asynq.NewClient(asynq.RedisClientOpt{Addr: m.Addr()})
	t.Cleanup(func() { c.Close() })
	for range 5 {
		_, err := c.Enqueue(asynq.NewTask(testTaskType, nil), asynq.Queue("ready-test"))
		require.NoError(t, err)
	}
	waitUntil(t, 10*time.Second, "the tasks to be handled", func() bool { return handled.Load() == 5 })
	require.Zero(t, handledUnready.Load(), "tasks handled while not ready")

	m.Close()
	waitReason("not ready while Redis is lost", "Redis unreachable")
	require.NoError(t, m.Restart())
	waitReady("ready again once Redis is back")
	require.Contains(t, logs.String(), "redis unreachable; not ready")
	require.Contains(t, logs.String(), "redis reachable again; ready")

	require.NoError(t, srv.stop(t, 15*time.Second))
	ready, reason := hs.Ready()
	require.False(t, ready)
	require.Equal(t, "shutting down", reason)
}
