package rdb_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/base"
	"bitqueue/internal/rdb"
	"bitqueue/redistest"
)

// TestRecords creates a run's record once: a second create finds it and
// leaves it as it was; it reads back field for field, with its TTL; the
// index of runs holds it by creation time; a touch refreshes its updated
// time; a tombstone keeps its fields; a missing record is not found; a
// broken one is an error naming the field.
func TestRecords(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	_, prefix := r.Namespace(t)
	db := rdb.New(r.Client, prefix)
	ctx := context.Background()

	first := time.Date(2026, 11, 29, 12, 0, 0, 123, time.UTC)
	rec := base.Record{RunID: "rec-1", Queue: "q", Shards: 4, Batches: 13, Integers: 12345, BatchSize: 1000, Input: "sha256:ab", Created: first, Updated: first}
	got, created, err := db.CreateRecord(ctx, rec, time.Hour)
	require.NoError(t, err)
	require.True(t, created)
	require.Equal(t, rec, got)
	other := rec
	other.Queue, other.Created = "q2", first.Add(time.Minute)
	got, created, err = db.CreateRecord(ctx, other, time.Hour)
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, rec, got, "the record there, left as it was")

	loaded, found, err := db.LoadRecord(ctx, "rec-1")
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, rec, loaded)
	key := base.RecordKey(prefix, "rec-1")
	ttl := r.Client.TTL(ctx, key).Val()
	if r.Embedded != nil {
		ttl = r.Embedded.TTL(key)
	}
	require.InDelta(t, time.Hour.Seconds(), ttl.Seconds(), 60)

	require.NoError(t, db.IndexRun(ctx, "rec-1", first))
	require.NoError(t, db.IndexRun(ctx, "rec-1", first.Add(time.Hour)), "NX: the first score stays")
	ids, err := r.Client.ZRangeWithScores(ctx, base.RunsKey(prefix), 0, -1).Result()
	require.NoError(t, err)
	require.Equal(t, []redis.Z{{Score: float64(first.UnixMilli()), Member: "rec-1"}}, ids, "index of runs")

	later := first.Add(time.Hour)
	require.NoError(t, db.TouchRecord(ctx, "rec-1", later, 2*time.Hour))
	loaded, _, err = db.LoadRecord(ctx, "rec-1")
	require.NoError(t, err)
	require.Equal(t, later, loaded.Updated)
	require.Equal(t, first, loaded.Created)

	exists, deleted, err := db.RecordState(ctx, "rec-1")
	require.NoError(t, err)
	require.Equal(t, []bool{true, false}, []bool{exists, deleted})
	require.NoError(t, db.Tombstone(ctx, "rec-1", later, time.Hour))
	tomb, _, err := db.LoadRecord(ctx, "rec-1")
	require.NoError(t, err)
	require.True(t, tomb.Deleted)
	tomb.Deleted = false
	require.Equal(t, loaded, tomb, "every other field kept")
	exists, deleted, err = db.RecordState(ctx, "rec-1")
	require.NoError(t, err)
	require.Equal(t, []bool{true, true}, []bool{exists, deleted})

	_, found, err = db.LoadRecord(ctx, "no-such-run")
	require.NoError(t, err)
	require.False(t, found)
	exists, _, err = db.RecordState(ctx, "no-such-run")
	require.NoError(t, err)
	require.False(t, exists)

	require.NoError(t, r.Client.HSet(ctx, base.RecordKey(prefix, "broken"), "batches", "x").Err())
	_, _, err = db.LoadRecord(ctx, "broken")
	require.ErrorContains(t, err, "batches")
}
