package worker

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"bitqueue/redistest"
)

// TestAsynqRetryExhaustedWording pins the one line of asynq's own log that
// asynqLogger recognises by its wording (asynq exposes nothing else for it):
// a real asynq server, failing a task that has no retry left, logs it as a
// warning starting "Retry exhausted for task id=", which asynqLogger lowers
// to debug.
func TestAsynqRetryExhaustedWording(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	queue, _ := r.Namespace(t)
	var logs redistest.LogBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := asynq.NewServerFromRedisClient(r.Client, asynq.Config{
		Queues:            map[string]int{queue: 1},
		Concurrency:       1,
		TaskCheckInterval: 10 * time.Millisecond,
		Logger:            asynqLogger{log},
		LogLevel:          asynq.DebugLevel,
	})
	mux := asynq.HandlerFunc(func(context.Context, *asynq.Task) error { return errors.New("fails for the test") })
	require.NoError(t, srv.Start(mux))
	t.Cleanup(srv.Shutdown)
	client := asynq.NewClientFromRedisClient(r.Client)
	t.Cleanup(func() { _ = client.Close() })
	_, err := client.Enqueue(asynq.NewTask("test:exhausted", nil), asynq.Queue(queue), asynq.MaxRetry(0), asynq.TaskID("exhausted-1"))
	require.NoError(t, err)
	redistest.WaitFor(t, 30*time.Second, "asynq's retry-exhausted line", func() bool {
		return logs.Contains(`level=DEBUG msg="Retry exhausted for task id=exhausted-1" component=asynq`)
	})
	require.False(t, logs.Contains("level=WARN msg=\"Retry exhausted"), "the line is lowered to debug")
}
