package runs_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/base"
	"bitqueue/internal/runs"
	"bitqueue/redistest"
)

func TestRecordSaveLoad(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	_, prefix := r.Namespace(t)
	ctx := context.Background()

	first := time.Date(2026, 11, 29, 12, 0, 0, 123, time.UTC)
	rec := runs.Record{RunID: "rec-1", Queue: "q", Shards: 4, Batches: 13, Integers: 12345, BatchSize: 1000, Input: "sha256:ab", Created: first, Updated: first}
	require.NoError(t, runs.SaveRecord(ctx, r.Client, prefix, rec, time.Hour))
	got, err := runs.LoadRecord(ctx, r.Client, prefix, "rec-1")
	require.NoError(t, err)
	require.Equal(t, rec, got)

	key := base.RecordKey(prefix, "rec-1")
	ttl := r.Client.TTL(ctx, key).Val()
	if r.Embedded != nil {
		ttl = r.Embedded.TTL(key)
	}
	require.InDelta(t, time.Hour.Seconds(), ttl.Seconds(), 60)

	_, err = runs.LoadRecord(ctx, r.Client, prefix, "no-such-run")
	require.True(t, errors.Is(err, runs.ErrUnknownRun), "error %v", err)
	require.ErrorContains(t, err, "no-such-run")

	require.NoError(t, r.Client.HSet(ctx, base.RecordKey(prefix, "broken"), "batches", "x").Err())
	_, err = runs.LoadRecord(ctx, r.Client, prefix, "broken")
	require.ErrorContains(t, err, "batches")
	require.False(t, errors.Is(err, runs.ErrUnknownRun))
}

// TestCreateRecord checks that a run's record is created once, bound to its
// fingerprint: the same fingerprint again refreshes it, keeping its creation
// time; any other field refuses the run id naming the field and both values,
// writing nothing; a tombstone refuses it whatever the fingerprint.
func TestCreateRecord(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	_, prefix := r.Namespace(t)
	ctx := context.Background()
	first := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	later := first.Add(time.Minute)
	rec := runs.Record{RunID: "fp", Queue: "q", Shards: 2, Batches: 10, Integers: 95, BatchSize: 10, Input: "random seed=1 max=8 count=95", Created: first, Updated: first}
	got, err := runs.CreateRecord(ctx, r.Client, prefix, rec, time.Hour)
	require.NoError(t, err)
	require.Equal(t, rec, got)
	ids, err := r.Client.ZRangeWithScores(ctx, base.RunsKey(prefix), 0, -1).Result()
	require.NoError(t, err)
	require.Equal(t, []redis.Z{{Score: float64(first.UnixMilli()), Member: "fp"}}, ids, "index of runs")

	again := rec
	again.Created, again.Updated = later, later
	got, err = runs.CreateRecord(ctx, r.Client, prefix, again, time.Hour)
	require.NoError(t, err)
	require.Equal(t, first, got.Created, "created kept")
	require.Equal(t, later, got.Updated, "updated refreshed")
	stored, err := runs.LoadRecord(ctx, r.Client, prefix, "fp")
	require.NoError(t, err)
	require.Equal(t, got, stored)

	for _, tc := range []struct {
		name, field, recorded, given string
		change                       func(*runs.Record)
	}{
		{"other input", "input", rec.Input, "sha256:00", func(r *runs.Record) { r.Input = "sha256:00" }},
		{"other count", "integers", "95", "96", func(r *runs.Record) { r.Integers, r.Batches = 96, 10 }},
		{"other batch size", "batch_size", "10", "5", func(r *runs.Record) { r.BatchSize, r.Batches = 5, 19 }},
		{"other shards", "shards", "2", "4", func(r *runs.Record) { r.Shards = 4 }},
		{"other queue", "queue", "q", "q2", func(r *runs.Record) { r.Queue = "q2" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			other := again
			other.Updated = later.Add(time.Hour)
			tc.change(&other)
			_, err := runs.CreateRecord(ctx, r.Client, prefix, other, time.Hour)
			var mismatch *runs.MismatchError
			require.ErrorAs(t, err, &mismatch)
			require.Equal(t, runs.MismatchError{RunID: "fp", Field: tc.field, Recorded: tc.recorded, Given: tc.given}, *mismatch)
			require.ErrorContains(t, err, "fp")
			after, err := runs.LoadRecord(ctx, r.Client, prefix, "fp")
			require.NoError(t, err)
			require.Equal(t, stored, after, "record unchanged")
		})
	}

	tomb := stored
	tomb.State = runs.StateDeleted
	require.NoError(t, runs.SaveRecord(ctx, r.Client, prefix, tomb, time.Hour))
	_, err = runs.CreateRecord(ctx, r.Client, prefix, again, time.Hour)
	var deleted *runs.DeletedError
	require.ErrorAs(t, err, &deleted)
	require.Equal(t, "fp", deleted.RunID)
}
