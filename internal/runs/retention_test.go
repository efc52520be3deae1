package runs_test

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/input"
	"bitqueue/internal/runs"
)

// A replica that found no result for a batch, and enqueues it just after a
// worker finished it, must not run it again. Without Retention asynq deletes a
// finished task at once and its id is free again; with Retention the id still
// refuses the enqueue.
func TestRetentionKeepsFinishedBatchesFromRunningAgain(t *testing.T) {
	for _, tc := range []struct {
		name      string
		retention time.Duration
		again     int // batches enqueued again by the late replica
	}{
		{"without retention the batches run again", 0, 3},
		{"with retention they do not", time.Minute, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, runs.Config{Concurrency: 2, Retention: tc.retention})
			e.batchSize = 100
			queue := e.queue
			insp := e.db.Inspector()
			t.Cleanup(func() { _, _ = insp.DeleteAllCompletedTasks(queue) }) // runs before the namespace's cleanup
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			src := input.Random(1, 250, 1000)
			_, st := e.enqueue(t, "ret", src, 250)
			require.Equal(t, 3, st.Enqueued)

			// A worker finishes every batch without writing a result: what
			// the late replica saw when it looked for results was no result.
			srv := e.db.NewServer(asynq.Config{
				Queues:            map[string]int{queue: 1},
				Concurrency:       2,
				TaskCheckInterval: 20 * time.Millisecond,
				LogLevel:          asynq.ErrorLevel,
			})
			require.NoError(t, srv.Start(asynq.HandlerFunc(func(context.Context, *asynq.Task) error { return nil })))
			defer srv.Shutdown()
			waitUntil(t, ctx, "the batches processed", func() bool {
				info, err := insp.GetQueueInfo(queue)
				return err == nil && info.ProcessedTotal == 3 && info.Pending+info.Active == 0
			})
			srv.Shutdown()
			info, err := insp.GetQueueInfo(queue)
			require.NoError(t, err)
			require.Equal(t, 3-tc.again, info.Completed, "finished tasks kept")

			_, st = e.enqueue(t, "ret", src, 250)
			require.Equal(t, tc.again, st.Enqueued, "batches enqueued again")
			require.Equal(t, 3-tc.again, st.Queued, "batches refused by their task id")
		})
	}
}

// waitUntil polls cond every 20 ms until it holds, failing t when ctx ends
// first.
func waitUntil(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("gave up waiting for %s: %v", what, ctx.Err())
		case <-tick.C:
		}
	}
}
