// Package wake tells an idle worker fleet that work has arrived. Idle
// workers poll their queues rarely (see worker.Config.PollInterval) and
// listen on Redis pub/sub channels: the fleet's channel
// (base.WakeChannel) and one of base.WakeShards shard channels
// (base.WakeShardChannel), chosen at random. A producer wakes the
// listeners of one shard channel, a few workers rather than the whole fleet
// at once; the first of them to find a task wakes the rest on the fleet's
// channel. A wake-up is only a hint: a lost one costs latency, never a
// batch.
package wake

import (
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"bitqueue/internal/base"
)

// Fleet wakes every listening worker of the fleet rooted at prefix.
func Fleet(ctx context.Context, rdb redis.UniversalClient, prefix string) error {
	return rdb.Publish(ctx, base.WakeChannel(prefix), base.WakeMessage).Err()
}

// Publish wakes the workers listening on one shard channel of the fleet
// rooted at prefix: it tries the shards from a random one until a message
// reaches a listener, and returns how many it reached (0 when no worker
// listens; on Redis Cluster only the listeners on the node that took the
// message and its peers are counted).
func Publish(ctx context.Context, rdb redis.UniversalClient, prefix string) (int64, error) {
	first := rand.N(base.WakeShards)
	for i := range base.WakeShards {
		n, err := rdb.Publish(ctx, base.WakeShardChannel(prefix, (first+i)%base.WakeShards), base.WakeMessage).Result()
		if err != nil || n > 0 {
			return n, err
		}
	}
	return 0, nil
}

// While wakes workers of the fleet rooted at prefix at once and then every
// period until the returned stop is called or ctx ends, so that workers that
// went idle while a producer is still enqueueing wake again: the whole fleet
// (as Fleet) when all is set, for work enough for many, else the listeners
// of one shard channel (as Publish). Failures are ignored: workers find the
// work by polling anyway. stop waits for the publisher to end.
func While(ctx context.Context, rdb redis.UniversalClient, prefix string, period time.Duration, all bool) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			pctx, pcancel := context.WithTimeout(ctx, period)
			if all {
				_ = Fleet(pctx, rdb, prefix)
			} else {
				_, _ = Publish(pctx, rdb, prefix)
			}
			pcancel()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// Listeners returns how many workers listen on the fleet channel of prefix,
// and the other prefixes whose fleet channels have listeners, sorted: a run
// whose queues are served while nobody listens under its prefix is served
// by a fleet writing its results under one of those. Every worker listens
// on its fleet's channel (the worker package). On a Redis Cluster, whose
// PUBSUB counts the listeners of one node only, it returns (-1, nil, nil):
// unknown.
func Listeners(ctx context.Context, rdb redis.UniversalClient, prefix string) (int64, []string, error) {
	if _, ok := rdb.(*redis.ClusterClient); ok {
		return -1, nil, nil
	}
	ours := base.WakeChannel(prefix)
	n, err := rdb.PubSubNumSub(ctx, ours).Result()
	if err != nil {
		return 0, nil, err
	}
	channels, err := rdb.PubSubChannels(ctx, base.WakeChannel("*")).Result()
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
