package tasks_test

import (
	"bitqueue/internal/base"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/tasks"
	"bitqueue/redistest"
)

// TestHandlerTrustsTheTaskID runs the handler under a real asynq server,
// which gives it each task's id: a payload whose run id or seq disagrees with
// its task id is archived at once, no result saved, its error naming both;
// a payload that agrees is converted.
func TestHandlerTrustsTheTaskID(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	queue, _ := r.Namespace(t)
	h, store, seen := newHandler(t, 8, nil)
	client := asynq.NewClientFromRedisClient(r.Client)
	insp := asynq.NewInspectorFromRedisClient(r.Client)
	tests := []struct {
		name, id string
		batch    base.Batch
		ok       bool
	}{
		{"agrees", "good:0", base.Batch{RunID: "good", Seq: 0, Nums: []uint64{5}}, true},
		{"other run", "mine:1", base.Batch{RunID: "theirs", Seq: 1, Nums: []uint64{5}}, false},
		{"other seq", "mine:2", base.Batch{RunID: "mine", Seq: 3, Nums: []uint64{5}}, false},
		{"id of another form", "mine-4", base.Batch{RunID: "mine", Seq: 4, Nums: []uint64{5}}, false},
	}
	for _, tc := range tests {
		payload, err := base.EncodeBatch(tc.batch)
		require.NoError(t, err)
		_, err = client.Enqueue(asynq.NewTask(base.TypeBits, payload), asynq.TaskID(tc.id), asynq.Queue(queue), asynq.MaxRetry(5), asynq.Retention(time.Hour))
		require.NoError(t, err, tc.name)
	}
	srv := asynq.NewServerFromRedisClient(r.Client, asynq.Config{
		Queues: map[string]int{queue: 1}, Concurrency: 2, TaskCheckInterval: 10 * time.Millisecond, LogLevel: asynq.FatalLevel,
	})
	require.NoError(t, srv.Start(h))
	t.Cleanup(srv.Shutdown)
	deadline := time.Now().Add(30 * time.Second)
	for {
		info, err := insp.GetQueueInfo(queue)
		require.NoError(t, err)
		if info.Completed+info.Archived == len(tests) {
			break
		}
		require.True(t, time.Now().Before(deadline), "tasks not all finished: %+v", info)
		time.Sleep(20 * time.Millisecond)
	}
	srv.Shutdown()

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			info, err := insp.GetTaskInfo(queue, tc.id)
			require.NoError(t, err)
			want := base.TaskID(tc.batch.RunID, tc.batch.Seq)
			if tc.ok {
				require.Equal(t, asynq.TaskStateCompleted, info.State)
				require.Contains(t, store.saved(t), want)
				return
			}
			require.Equal(t, asynq.TaskStateArchived, info.State)
			require.Zero(t, info.Retried, "retries of a batch whose id disagrees")
			require.Contains(t, info.LastErr, "task id "+tc.id)
			require.Contains(t, info.LastErr, "batch "+want)
			require.NotContains(t, store.saved(t), want, "result saved under the payload's key")
		})
	}
	require.Len(t, store.saved(t), 1)
	for _, o := range seen.all() {
		if o.Err != nil {
			require.True(t, tasks.IsPermanent(o.Err), "outcome %v", o.Err)
		}
	}
}
