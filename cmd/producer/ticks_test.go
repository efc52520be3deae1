package main

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/base"
	"bitqueue/internal/input"
	"bitqueue/internal/tasks"
	"bitqueue/redistest"
)

// marked reports whether the tick with run id runID is marked produced.
func marked(t *testing.T, r *redistest.Redis, prefix, runID string) bool {
	t.Helper()
	n, err := r.Client.Exists(context.Background(), base.TickKey(prefix, runID)).Result()
	require.NoError(t, err)
	return n == 1
}

func TestDefaultCatchUpIsOne(t *testing.T) {
	t.Parallel()
	c, err := parse([]string{"-schedule", "@hourly", "-count", "1"}, noEnv, io.Discard)
	require.NoError(t, err)
	require.Equal(t, 1, c.CatchUp)
}

// A tick produced to its end is marked for as long as catch-up can reach it;
// catch-up does not produce it again once its tasks and results are gone,
// and produces the ticks nobody marked.
func TestScheduledCatchUpSkipsMarkedTicks(t *testing.T) {
	r := redistest.Start(t)
	queue, prefix := r.Namespace(t)
	insp := asynq.NewInspectorFromRedisClient(r.Client)
	args := func(extra ...string) []string {
		return append([]string{"-redis", r.URL, "-queue", queue, "-prefix", prefix, "-schedule", "@every 10s", "-name", "mk", "-count", "250", "-batch-size", "100"}, extra...)
	}
	// A: from 12:00:00.5 to 12:00:10, with --catch-up 0: tick 00.
	logsA, err := replica(args("-catch-up", "0"), mustTime(t, "2026-11-29T12:00:00.5Z"), mustTime(t, "2026-11-29T12:00:10Z"))
	require.NoError(t, err, logsA)
	require.Contains(t, logsA, "run_id=mk-20261129T120000Z catch_up=false batches=3 new=3")
	require.True(t, marked(t, r, prefix, "mk-20261129T120000Z"))
	ttl := r.Client.PTTL(context.Background(), base.TickKey(prefix, "mk-20261129T120000Z")).Val()
	require.Greater(t, ttl, 10*time.Minute, "the mark outlives the reach of catch-up and a margin")

	// Its tasks and results are gone (expired, deleted): the batches have
	// neither, which is all the producer used to look at.
	_, err = insp.DeleteAllPendingTasks(queue)
	require.NoError(t, err)
	require.Empty(t, queued(t, insp, queue))

	// B starts at 12:00:25 with --catch-up 3: of the last three ticks,
	// 12:00:00 was produced and is not produced again; 12:00:10 and 12:00:20
	// never were.
	logsB, err := replica(args("-catch-up", "3"), mustTime(t, "2026-11-29T12:00:25Z"), mustTime(t, "2026-11-29T12:00:30Z"))
	require.NoError(t, err, logsB)
	require.Contains(t, logsB, `msg="tick already produced" tick=2026-11-29T12:00:00Z run_id=mk-20261129T120000Z catch_up=true`)
	require.NotContains(t, logsB, "run_id=mk-20261129T120000Z catch_up=true batches")
	for _, id := range []string{"mk-20261129T120010Z", "mk-20261129T120020Z"} {
		require.Contains(t, logsB, "run_id="+id+" catch_up=true batches=3 new=3", logsB)
	}
	require.Equal(t, batchIDs("mk-20261129T120010Z", "mk-20261129T120020Z"), queued(t, insp, queue))
}

// A tick cut short (a rolling deploy's SIGTERM) is left unmarked and partly
// enqueued; the next start completes it with the default --catch-up 1,
// enqueueing only the missing batches, and marks it.
func TestScheduledInterruptedTickCompletedByNextStart(t *testing.T) {
	r := redistest.Start(t)
	queue, prefix := r.Namespace(t)
	insp := asynq.NewInspectorFromRedisClient(r.Client)
	const runID = "cut-20261129T120000Z"
	// What the stopped replica got through: batch 0 of 3.
	s, err := input.Random(base.SeedFor(runID), 250, 1<<20).Open()
	require.NoError(t, err)
	nums := make([]uint64, 100)
	for i := range nums {
		nums[i], err = s.Next()
		require.NoError(t, err)
	}
	task, err := tasks.NewBitsTask(base.Batch{RunID: runID, Seq: 0, Nums: nums}, asynq.Queue(queue))
	require.NoError(t, err)
	client := asynq.NewClientFromRedisClient(r.Client)
	_, err = client.Enqueue(task)
	require.NoError(t, err)

	logs, err := replica([]string{"-redis", r.URL, "-queue", queue, "-prefix", prefix, "-schedule", "@every 10s", "-name", "cut", "-count", "250", "-batch-size", "100"},
		mustTime(t, "2026-11-29T12:00:04Z"), mustTime(t, "2026-11-29T12:00:10Z"))
	require.NoError(t, err, logs)
	require.Contains(t, logs, "run_id="+runID+" catch_up=true batches=3 new=2 already_queued=1")
	require.True(t, marked(t, r, prefix, runID))
	require.Equal(t, batchIDs(runID), queued(t, insp, queue))
}
