package runs_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/runs"
	"bitqueue/redistest"
)

func TestRecordKey(t *testing.T) {
	t.Parallel()
	tests := []struct{ prefix, runID, want string }{
		{"bitqueue", "r1", "bitqueue:run:r1"},
		{"bqtest-1", "20261129T120000Z-1a2b3c4d", "bqtest-1:run:20261129T120000Z-1a2b3c4d"},
		{"p", "a.b_c-d", "p:run:a.b_c-d"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, runs.RecordKey(tt.prefix, tt.runID))
		})
	}
}

func TestRecordSaveLoad(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	_, prefix := r.Namespace(t)
	ctx := context.Background()

	first := time.Date(2026, 11, 29, 12, 0, 0, 123, time.UTC)
	rec := runs.Record{RunID: "rec-1", Queue: "q", Shards: 4, Batches: 13, Integers: 12345, BatchSize: 1000, Created: first, Updated: first}
	require.NoError(t, runs.SaveRecord(ctx, r.Client, prefix, rec, time.Hour))
	got, err := runs.LoadRecord(ctx, r.Client, prefix, "rec-1")
	require.NoError(t, err)
	require.Equal(t, rec, got)

	key := runs.RecordKey(prefix, "rec-1")
	ttl := r.Client.TTL(ctx, key).Val()
	if r.Embedded != nil {
		ttl = r.Embedded.TTL(key)
	}
	require.InDelta(t, time.Hour.Seconds(), ttl.Seconds(), 60)

	// A re-run keeps the first enqueue time and refreshes the rest.
	later := first.Add(time.Minute)
	again := rec
	again.Created, again.Updated = later, later
	require.NoError(t, runs.SaveRecord(ctx, r.Client, prefix, again, time.Hour))
	got, err = runs.LoadRecord(ctx, r.Client, prefix, "rec-1")
	require.NoError(t, err)
	require.Equal(t, first, got.Created)
	require.Equal(t, later, got.Updated)

	_, err = runs.LoadRecord(ctx, r.Client, prefix, "no-such-run")
	require.True(t, errors.Is(err, runs.ErrUnknownRun), "error %v", err)
	require.ErrorContains(t, err, "no-such-run")

	require.NoError(t, r.Client.HSet(ctx, runs.RecordKey(prefix, "broken"), "batches", "x").Err())
	_, err = runs.LoadRecord(ctx, r.Client, prefix, "broken")
	require.ErrorContains(t, err, "batches")
	require.False(t, errors.Is(err, runs.ErrUnknownRun))
}
