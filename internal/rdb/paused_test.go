package rdb_test

import (
	"context"
	"testing"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/rdb"
	"bitqueue/redistest"
)

// TestPausedQueues pauses one of two queues with asynq's Inspector and reads
// which are paused, before and after the paused queue is removed with its
// tasks (`asynq queue remove --force`, which leaves the pause mark) and
// after it is resumed.
func TestPausedQueues(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	paused, _ := r.Namespace(t)
	running, _ := r.Namespace(t)
	never, _ := r.Namespace(t) // no task ever enqueued on it
	client := asynq.NewClientFromRedisClient(r.Client)
	t.Cleanup(func() { client.Close() })
	for _, q := range []string{paused, running} {
		_, err := client.Enqueue(asynq.NewTask("test:noop", nil), asynq.Queue(q))
		require.NoError(t, err)
	}
	insp := asynq.NewInspectorFromRedisClient(r.Client)
	db := rdb.New(r.Client, "")
	ctx := context.Background()
	queues := []string{running, paused, never}

	got, err := db.PausedQueues(ctx, queues)
	require.NoError(t, err)
	require.Empty(t, got)

	require.NoError(t, insp.PauseQueue(paused))
	got, err = db.PausedQueues(ctx, queues)
	require.NoError(t, err)
	require.Equal(t, []string{paused}, got)

	require.NoError(t, insp.DeleteQueue(paused, true))
	got, err = db.PausedQueues(ctx, queues)
	require.NoError(t, err)
	require.Equal(t, []string{paused}, got, "removed, and paused still")

	require.NoError(t, insp.UnpauseQueue(paused))
	got, err = db.PausedQueues(ctx, queues)
	require.NoError(t, err)
	require.Empty(t, got)

	got, err = db.PausedQueues(ctx, nil)
	require.NoError(t, err)
	require.Empty(t, got, "no queue, no command")
}
