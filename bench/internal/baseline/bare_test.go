package baseline

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"bitqueue/redistest"
)

// syncBuffer is a log destination the server's goroutine and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestServeBareProcessesTasksAndLogsServing(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	queue, _ := r.Namespace(t)
	var logs syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- ServeBare(ctx, r.URL, queue, 10*time.Millisecond, slog.New(slog.NewTextHandler(&logs, nil)))
	}()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	redistest.WaitFor(t, 30*time.Second, "msg=serving logged", func() bool {
		return bytes.Contains([]byte(logs.String()), []byte("msg=serving"))
	})

	c := asynq.NewClientFromRedisClient(r.Client)
	ins := asynq.NewInspectorFromRedisClient(r.Client)
	for i := range 5 {
		_, err := c.Enqueue(asynq.NewTask("bits", []byte{byte(i)}), asynq.Queue(queue))
		require.NoError(t, err)
	}
	// The empty handler succeeds, so asynq deletes every finished task.
	redistest.WaitFor(t, 30*time.Second, "5 tasks processed", func() bool {
		info, err := ins.GetQueueInfo(queue)
		return err == nil && info.Size == 0 && info.Processed == 5
	})
}

func TestServeBareRefusesABadURL(t *testing.T) {
	t.Parallel()
	err := ServeBare(context.Background(), "http://nowhere", "q", 0, slog.New(slog.DiscardHandler))
	require.ErrorContains(t, err, `"http://nowhere"`)
}
