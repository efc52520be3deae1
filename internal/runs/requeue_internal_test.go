package runs

import (
	"context"
	"testing"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/base"
	"bitqueue/internal/input"
)

// TestEnqueueLostLeavesAQueuedBatch enqueues again a batch found lost a
// moment ago that another producer enqueued meanwhile: its task is left
// alone, and it is not counted as enqueued.
func TestEnqueueLostLeavesAQueuedBatch(t *testing.T) {
	t.Parallel()
	s, _, queue, _ := newService(t, Config{})
	ctx := context.Background()
	src := input.Random(1, 4, 100)
	rec, _, err := s.Enqueue(ctx, Spec{RunID: "queued", Queue: queue, BatchSize: 2, Source: src, Integers: 4})
	require.NoError(t, err)
	ids, err := s.enqueueLost(ctx, rec, src, []uint64{1})
	require.NoError(t, err)
	require.Empty(t, ids, "a batch queued meanwhile is left alone")
	info, err := s.RDB.Inspector().GetTaskInfo(queue, base.TaskID("queued", 1))
	require.NoError(t, err)
	require.Equal(t, asynq.TaskStatePending, info.State, "the other producer's task, untouched")
}
