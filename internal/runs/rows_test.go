package runs_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/fixture"
	"bitqueue/internal/base"
	"bitqueue/internal/input"
	"bitqueue/internal/runs"
)

// TestResultsListDelete follows two runs through WriteRows, List and
// Delete.
func TestResultsListDelete(t *testing.T) {
	t.Parallel()
	e := newEnv(t, runs.Config{})
	e.batchSize = 2
	ctx := context.Background()
	older, _ := e.enqueue(t, "older", input.Random(1, 5, 100), 5)
	time.Sleep(2 * time.Millisecond) // the index orders runs by creation time in ms
	newer, _ := e.enqueue(t, "newer", input.Random(2, 3, 100), 3)
	nums := fixture.Integers(t, input.Random(1, 5, 100))
	for seq := range uint64(3) {
		e.save(t, "older", seq, nums[2*seq:min(2*seq+2, 5)]...)
	}
	e.save(t, "newer", 1, 7)

	var out bytes.Buffer
	require.NoError(t, e.svc.WriteRows(ctx, older, &out, nil))
	var want strings.Builder
	for _, n := range nums {
		fmt.Fprintf(&want, "%d\t%b\n", n, n)
	}
	require.Equal(t, want.String(), out.String())
	out.Reset()
	require.NoError(t, e.svc.WriteRows(ctx, older, &out, input.Random(1, 5, 100)), "checked against its input")
	require.Equal(t, want.String(), out.String())
	require.ErrorContains(t, e.svc.WriteRows(ctx, older, &out, input.Random(9, 5, 100)), "input has", "checked against another input")
	err := e.svc.WriteRows(ctx, newer, &out, nil)
	require.ErrorContains(t, err, "batch newer:0")

	list, err := e.svc.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 2)
	require.Equal(t, []string{"newer", "older"}, []string{list[0].RunID, list[1].RunID}, "newest first")
	require.Equal(t, []int{1, 3}, []int{list[0].Done, list[1].Done})
	require.Equal(t, []runs.RunState{runs.RunRunning, runs.RunDone}, []runs.RunState{list[0].State, list[1].State})

	st, err := e.svc.Delete(ctx, newer, time.Hour)
	require.NoError(t, err)
	require.Equal(t, runs.Deleted{RunID: "newer", Tasks: 2, Results: 2, Active: []string{}, TTL: time.Hour}, st, "two tasks; a result and the bitmap")
	info, err := e.db.Inspector().GetQueueInfo(e.queue)
	require.NoError(t, err)
	require.Equal(t, 3, info.Pending, "the older run's tasks are left")
	tomb, err := e.svc.Load(ctx, "newer")
	require.NoError(t, err)
	require.True(t, tomb.Deleted)
	fingerprint := func(r base.Record) []any {
		return []any{r.Queue, r.Shards, r.Batches, r.Integers, r.BatchSize, r.Input}
	}
	require.Equal(t, fingerprint(newer), fingerprint(tomb), "fingerprint kept")
	_, _, err = e.svc.Enqueue(ctx, e.spec("newer", input.Random(2, 3, 100), 3))
	var deleted *runs.DeletedError
	require.ErrorAs(t, err, &deleted)
	require.ErrorAs(t, e.svc.WriteRows(ctx, tomb, &out, nil), &deleted)

	// A record that expired is pruned from the index.
	require.NoError(t, e.r.Client.Del(ctx, base.RecordKey(e.prefix, "older")).Err())
	list, err = e.svc.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, "newer", list[0].RunID)
	require.Equal(t, runs.RunDeleted, list[0].State)
	left, err := e.r.Client.ZRange(ctx, base.RunsKey(e.prefix), 0, -1).Result()
	require.NoError(t, err)
	require.Equal(t, []string{"newer"}, left)
}
