package runs

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/base"
	"bitqueue/internal/results"
	"bitqueue/redistest"
)

// TestRecordGuard watches two runs' records: live while they are, then a
// *DeletedError once one becomes a tombstone and a *GoneError once the
// other's record vanishes, each within a few readings.
func TestRecordGuard(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	_, prefix := r.Namespace(t)
	ctx := context.Background()
	store := &results.Store{Client: r.Client, Prefix: prefix}
	for _, id := range []string{"tomb", "vanish"} {
		now := time.Now()
		_, err := CreateRecord(ctx, r.Client, prefix, Record{RunID: id, Queue: "q", Shards: 1, Batches: 1, Integers: 1, BatchSize: 1, Input: "x", Created: now, Updated: now}, time.Hour)
		require.NoError(t, err)
	}
	tomb := watchRecord(ctx, store, "tomb", time.Minute)
	defer tomb.stop()
	vanish := watchRecord(ctx, store, "vanish", time.Minute)
	defer vanish.stop()
	require.NoError(t, tomb.live(ctx))
	require.NoError(t, vanish.live(ctx))

	require.NoError(t, r.Client.HSet(ctx, base.RecordKey(prefix, "tomb"), recState, StateDeleted).Err())
	require.NoError(t, r.Client.Del(ctx, base.RecordKey(prefix, "vanish")).Err())
	time.Sleep(guardFresh) // every enqueue from now on waits for a reading after the change
	var deleted *DeletedError
	require.True(t, errors.As(tomb.live(ctx), &deleted), "tombstone: %v", tomb.live(ctx))
	var gone *GoneError
	require.True(t, errors.As(vanish.live(ctx), &gone), "gone: %v", vanish.live(ctx))
}
