package redistest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"bitqueue/redistest"
)

// TestLatencyProxy checks that a latency proxy forwards commands and their
// replies in order, pipelined or not, holds every round trip for about the
// added time at least (a lower bound, which a loaded machine cannot break),
// and counts its connections.
func TestLatencyProxy(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	const rtt = 20 * time.Millisecond
	p, err := redistest.NewLatencyProxy(r.Client.Options().Addr, rtt)
	require.NoError(t, err)
	t.Cleanup(p.Close)
	opt := *r.Client.Options()
	opt.Addr = p.Addr()
	require.Zero(t, p.Peak(), "no connection yet")
	c := redis.NewClient(&opt)
	t.Cleanup(func() { c.Close() })
	ctx := context.Background()
	_, prefix := r.Namespace(t)
	key := prefix + ":latency"

	start := time.Now()
	require.NoError(t, c.Set(ctx, key, "v", time.Minute).Err())
	// Each way may be released up to the line's wake-up allowance early.
	require.GreaterOrEqual(t, time.Since(start), rtt-2*redistest.MaxEarly, "one round trip through the proxy")

	cmds, err := c.Pipelined(ctx, func(pl redis.Pipeliner) error {
		for i := range 100 {
			pl.Echo(ctx, fmt.Sprint(i))
		}
		return nil
	})
	require.NoError(t, err)
	for i, cmd := range cmds {
		require.Equal(t, fmt.Sprint(i), cmd.(*redis.StringCmd).Val(), "replies in order")
	}

	p.SetLatency(0)
	v, err := c.Get(ctx, key).Result()
	require.NoError(t, err)
	require.Equal(t, "v", v)
	require.GreaterOrEqual(t, p.Peak(), 1, "the client's connections")

	p.Drop()
	require.NoError(t, c.Ping(ctx).Err(), "a new connection after a drop")
}
