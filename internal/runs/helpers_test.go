package runs_test

import (
	"bitqueue/internal/base"
	"errors"
	"io"
	"testing"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/input"
	"bitqueue/internal/tasks"
)

// newClient returns an asynq client on rdb, closed when the test ends.
func newClient(t *testing.T, rdb redis.UniversalClient) *asynq.Client {
	t.Helper()
	client := asynq.NewClientFromRedisClient(rdb)
	t.Cleanup(func() { client.Close() })
	return client
}

// batchEnqueuer returns a function that enqueues, with client, batch seq of
// runID, holding the one integer seq, on the queue queueOf names for it,
// with opts.
func batchEnqueuer(t *testing.T, client *asynq.Client, runID string, queueOf func(seq uint64) string) func(seq uint64, opts ...asynq.Option) {
	return func(seq uint64, opts ...asynq.Option) {
		t.Helper()
		task, err := tasks.NewBitsTask(base.Batch{RunID: runID, Seq: seq, Nums: []uint64{seq}}, append([]asynq.Option{asynq.Queue(queueOf(seq))}, opts...)...)
		require.NoError(t, err)
		_, err = client.Enqueue(task)
		require.NoError(t, err)
	}
}

// integersOf reads every integer of src.
func integersOf(t *testing.T, src input.Source) []uint64 {
	t.Helper()
	s, err := src.Open()
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	var out []uint64
	for {
		n, err := s.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err)
		out = append(out, n)
	}
}
