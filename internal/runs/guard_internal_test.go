package runs

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/base"
)

// TestRecordGuard watches two runs' records: live while they are, then a
// *DeletedError once one becomes a tombstone and a *GoneError once the
// other's record vanishes, each within a few readings.
func TestRecordGuard(t *testing.T) {
	t.Parallel()
	s, r, _, prefix := newService(t, Config{RedisWait: time.Minute})
	ctx := context.Background()
	for _, id := range []string{"tomb", "vanish"} {
		now := time.Now()
		_, _, err := s.RDB.CreateRecord(ctx, base.Record{RunID: id, Queue: "q", Shards: 1, Batches: 1, Integers: 1, BatchSize: 1, Input: "x", Created: now, Updated: now}, time.Hour)
		require.NoError(t, err)
	}
	tomb := s.watchRecord(ctx, "tomb")
	defer tomb.stop()
	vanish := s.watchRecord(ctx, "vanish")
	defer vanish.stop()
	require.NoError(t, tomb.live(ctx))
	require.NoError(t, vanish.live(ctx))

	require.NoError(t, s.RDB.Tombstone(ctx, "tomb", time.Now(), time.Hour))
	require.NoError(t, r.Client.Del(ctx, base.RecordKey(prefix, "vanish")).Err())
	time.Sleep(guardFresh) // every enqueue from now on waits for a reading after the change
	var deleted *DeletedError
	require.True(t, errors.As(tomb.live(ctx), &deleted), "tombstone: %v", tomb.live(ctx))
	var gone *GoneError
	require.True(t, errors.As(vanish.live(ctx), &gone), "gone: %v", vanish.live(ctx))
}
