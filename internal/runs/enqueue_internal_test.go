package runs

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/base"
)

// TestWakeWhileRepeatsUntilStopped: while a producer enqueues, it wakes one
// shard channel's listeners at once and then every period, until stopped.
func TestWakeWhileRepeatsUntilStopped(t *testing.T) {
	t.Parallel()
	s, r, _, prefix := newService(t, Config{})
	ctx := context.Background()
	sub := r.Client.Subscribe(ctx, base.WakeShardChannel(prefix, 0))
	t.Cleanup(func() { sub.Close() })
	_, err := sub.Receive(ctx)
	require.NoError(t, err)
	stop := s.wakeWhile(ctx, 10*time.Millisecond, 1)
	for range 3 { // at once, then again and again
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		msg, err := sub.ReceiveMessage(rctx)
		cancel()
		require.NoError(t, err)
		require.Equal(t, base.WakeMessage, msg.Payload)
	}
	stop()
}

// TestWakeWhileStoppedAtOnceStillWakes: a lone batch is enqueued in a few
// round trips, while the first wake-up may have to try most shard channels
// before one has a listener; stopping at once must not cut that wake-up
// short, or the batch waits for an idle worker's poll.
func TestWakeWhileStoppedAtOnceStillWakes(t *testing.T) {
	t.Parallel()
	s, r, _, prefix := newService(t, Config{})
	ctx := context.Background()
	for i := range 10 {
		sub := r.Client.Subscribe(ctx, base.WakeShardChannel(prefix, i%base.WakeShards))
		_, err := sub.Receive(ctx)
		require.NoError(t, err)
		s.wakeWhile(ctx, time.Second, 1)()
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		msg, err := sub.ReceiveMessage(rctx)
		cancel()
		require.NoError(t, err, "wake-up %d lost", i)
		require.Equal(t, base.WakeMessage, msg.Payload)
		require.NoError(t, sub.Close())
	}
}
