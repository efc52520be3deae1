package runs_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/base"
	"bitqueue/internal/input"
	"bitqueue/internal/runs"
)

// TestEnqueueBindsTheRunID checks that a run's record is created once,
// bound to its fingerprint: the same fingerprint again refreshes it, keeping
// its creation time; any other field refuses the run id naming the field and
// both values, writing nothing; a tombstone refuses it whatever the
// fingerprint; a run id never enqueued is unknown.
func TestEnqueueBindsTheRunID(t *testing.T) {
	t.Parallel()
	e := newEnv(t, runs.Config{})
	e.batchSize = 10
	ctx := context.Background()
	src := input.Random(1, 95, 8)
	spec := e.spec("fp", src, 95)
	spec.Shards = 2
	rec, _, err := e.svc.Enqueue(ctx, spec)
	require.NoError(t, err)
	ids, err := e.r.Client.ZRangeWithScores(ctx, base.RunsKey(e.prefix), 0, -1).Result()
	require.NoError(t, err)
	require.Equal(t, []redis.Z{{Score: float64(rec.Created.UnixMilli()), Member: "fp"}}, ids, "index of runs")

	stored, err := e.svc.Load(ctx, "fp")
	require.NoError(t, err)
	time.Sleep(time.Millisecond)
	_, _, err = e.svc.Enqueue(ctx, spec)
	require.NoError(t, err)
	again, err := e.svc.Load(ctx, "fp")
	require.NoError(t, err)
	require.Equal(t, stored.Created, again.Created, "created kept")
	require.True(t, again.Updated.After(stored.Updated), "updated refreshed")

	for _, tc := range []struct {
		name, field, recorded, given string
		change                       func(*runs.Spec)
	}{
		{"other input", "input", "random seed=1 max=8 count=95", "random seed=2 max=8 count=95", func(s *runs.Spec) { s.Source = input.Random(2, 95, 8) }},
		{"other count", "input", "random seed=1 max=8 count=95", "random seed=1 max=8 count=96", func(s *runs.Spec) { s.Source, s.Integers = input.Random(1, 96, 8), 96 }},
		{"other batch size", "batch_size", "10", "5", func(s *runs.Spec) { s.BatchSize = 5 }},
		{"other shards", "shards", "2", "4", func(s *runs.Spec) { s.Shards = 4 }},
		{"other queue", "queue", e.queue, e.queue + "2", func(s *runs.Spec) { s.Queue += "2" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			other := spec
			tc.change(&other)
			_, _, err := e.svc.Enqueue(ctx, other)
			var mismatch *runs.MismatchError
			require.ErrorAs(t, err, &mismatch)
			require.Equal(t, runs.MismatchError{RunID: "fp", Field: tc.field, Recorded: tc.recorded, Given: tc.given}, *mismatch)
			require.ErrorContains(t, err, "fp")
			after, err := e.svc.Load(ctx, "fp")
			require.NoError(t, err)
			require.Equal(t, again, after, "record unchanged")
		})
	}

	require.NoError(t, e.db.Tombstone(ctx, "fp", time.Now(), time.Hour))
	_, _, err = e.svc.Enqueue(ctx, spec)
	var deleted *runs.DeletedError
	require.ErrorAs(t, err, &deleted)
	require.Equal(t, "fp", deleted.RunID)

	_, err = e.svc.Load(ctx, "no-such-run")
	require.True(t, errors.Is(err, runs.ErrUnknownRun), "error %v", err)
	require.ErrorContains(t, err, "no-such-run")
}
