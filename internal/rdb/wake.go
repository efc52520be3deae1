package rdb

import (
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"bitqueue/internal/base"
)

// Wake-ups tell an idle worker fleet that work has arrived. Idle workers
// poll their queues rarely and listen on Redis pub/sub channels: the fleet's
// channel (base.WakeChannel) and one of base.WakeShards shard channels
// (base.WakeShardChannel), chosen at random. A producer wakes the listeners
// of one shard channel, a few workers rather than the whole fleet at once;
// the first of them to find a task wakes the rest on the fleet's channel. A
// wake-up is only a hint: a lost one costs latency, never a batch.

// WakeFleet wakes every listening worker of r's fleet.
func (r *RDB) WakeFleet(ctx context.Context) error {
	return r.client.Publish(ctx, base.WakeChannel(r.prefix), base.WakeMessage).Err()
}

// WakeSome wakes the workers listening on one shard channel of r's fleet:
// it tries the shards from a random one until a message reaches a listener,
// and returns how many it reached (0 when no worker listens; on Redis
// Cluster only the listeners on the node that took the message and its
// peers are counted).
func (r *RDB) WakeSome(ctx context.Context) (int64, error) {
	first := rand.N(base.WakeShards)
	for i := range base.WakeShards {
		n, err := r.client.Publish(ctx, base.WakeShardChannel(r.prefix, (first+i)%base.WakeShards), base.WakeMessage).Result()
		if err != nil || n > 0 {
			return n, err
		}
	}
	return 0, nil
}

// Listeners returns how many workers listen on the fleet channel of r's
// prefix, and the other prefixes whose fleet channels have listeners,
// sorted: a run whose queues are served while nobody listens under its
// prefix is served by a fleet writing its results under one of those. On a
// Redis Cluster, whose PUBSUB counts the listeners of one node only, it
// returns (-1, nil, nil): unknown.
func (r *RDB) Listeners(ctx context.Context) (int64, []string, error) {
	if r.cluster {
		return -1, nil, nil
	}
	ours := base.WakeChannel(r.prefix)
	n, err := r.client.PubSubNumSub(ctx, ours).Result()
	if err != nil {
		return 0, nil, err
	}
	channels, err := r.client.PubSubChannels(ctx, base.WakeChannel("*")).Result()
	if err != nil {
		return 0, nil, err
	}
	var others []string
	for _, c := range channels {
		if p, ok := strings.CutSuffix(c, base.WakeChannel("")); ok && c != ours && p != "" {
			others = append(others, p)
		}
	}
	slices.Sort(others)
	return n[ours], others, nil
}

// ListenWake listens on the wake channels of r's fleet (base.WakeChannels)
// and calls woken on every message until the returned stop is called. The
// subscription reconnects by itself after a Redis outage; it pings Redis
// only after a minute without a message, so that a listening worker costs
// Redis nothing while no message flows.
func (r *RDB) ListenWake(ctx context.Context, woken func()) (stop func()) {
	sub := r.client.Subscribe(ctx, base.WakeChannels(r.prefix)...)
	ch := sub.Channel(redis.WithChannelHealthCheckInterval(time.Minute))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range ch {
			woken()
		}
	}()
	return func() {
		_ = sub.Close()
		<-done
	}
}
