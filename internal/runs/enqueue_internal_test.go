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
	stop := s.wakeWhile(ctx, 10*time.Millisecond, false)
	for range 3 { // at once, then again and again
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		msg, err := sub.ReceiveMessage(rctx)
		cancel()
		require.NoError(t, err)
		require.Equal(t, base.WakeMessage, msg.Payload)
	}
	stop()
}
