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

// listen subscribes to channels and returns the subscription once Redis has
// confirmed every channel.
func listen(t *testing.T, r *redistest.Redis, channels ...string) *redis.PubSub {
	t.Helper()
	ctx := context.Background()
	sub := r.Client.Subscribe(ctx, channels...)
	t.Cleanup(func() { sub.Close() })
	for range channels {
		_, err := sub.Receive(ctx)
		require.NoError(t, err)
	}
	return sub
}

func receive(t *testing.T, sub *redis.PubSub) *redis.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msg, err := sub.ReceiveMessage(ctx)
	require.NoError(t, err)
	require.Equal(t, base.WakeMessage, msg.Payload)
	return msg
}

func TestWakeChannels(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 200 {
		ch := base.WakeChannels("p")
		require.Len(t, ch, 2)
		require.Equal(t, base.WakeChannel("p"), ch[0], "the fleet's channel")
		seen[ch[1]] = true
	}
	require.Len(t, seen, base.WakeShards, "shard channels picked at random among all shards")
	for i := range base.WakeShards {
		require.True(t, seen[base.WakeShardChannel("p", i)])
	}
}

// TestWakeSomeFindsTheListeningShard: with one worker listening on one shard
// channel, WakeSome reaches it whichever shard it tries first.
func TestWakeSomeFindsTheListeningShard(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	_, prefix := r.Namespace(t)
	ctx := context.Background()
	sub := listen(t, r, base.WakeShardChannel(prefix, 5))
	for range 5 {
		n, err := rdb.New(r.Client, prefix).WakeSome(ctx)
		require.NoError(t, err)
		require.EqualValues(t, 1, n, "listeners reached")
		require.Equal(t, base.WakeShardChannel(prefix, 5), receive(t, sub).Channel)
	}
}

func TestWakeSomeWithoutListeners(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	_, prefix := r.Namespace(t)
	n, err := rdb.New(r.Client, prefix).WakeSome(context.Background())
	require.NoError(t, err)
	require.Zero(t, n)
}

func TestWakeFleetReachesTheFleetChannel(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	_, prefix := r.Namespace(t)
	sub := listen(t, r, base.WakeChannel(prefix))
	require.NoError(t, rdb.New(r.Client, prefix).WakeFleet(context.Background()))
	require.Equal(t, base.WakeChannel(prefix), receive(t, sub).Channel)
}
