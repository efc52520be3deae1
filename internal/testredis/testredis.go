// Package testredis gives tests a Redis to talk to: the one at REDIS_URL when
// it is set, otherwise an embedded one (miniredis) started for the test. Tests
// keep to their own queue and key prefix, so they never flush or disturb data
// they do not own.
package testredis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// Redis is a Redis server reachable by the test and by processes it starts.
type Redis struct {
	URL      string
	Client   *redis.Client
	Embedded *miniredis.Miniredis // nil when REDIS_URL names a real server
}

// Start returns the Redis for t: REDIS_URL when set, otherwise a miniredis
// listening on loopback, closed when t ends.
func Start(t testing.TB) *Redis {
	t.Helper()
	r := &Redis{URL: os.Getenv("REDIS_URL")}
	if r.URL == "" {
		r.Embedded = miniredis.RunT(t)
		r.URL = "redis://" + r.Embedded.Addr() + "/0"
		t.Logf("REDIS_URL is not set: using an embedded Redis (miniredis) at %s", r.Embedded.Addr())
	}
	opt, err := redis.ParseURL(r.URL)
	require.NoError(t, err, "REDIS_URL")
	r.Client = redis.NewClient(opt)
	t.Cleanup(func() { r.Client.Close() })
	require.NoError(t, r.Client.Ping(context.Background()).Err(), "Redis at %s does not answer", r.URL)
	return r
}

// Namespace returns a queue name and a key prefix that belong to t alone, and
// deletes, when t ends, the queue with every asynq key of it (its processed
// and failed counters too) and every key under the prefix.
func (r *Redis) Namespace(t testing.TB) (queue, prefix string) {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	queue, prefix = "test-"+id, "bqtest-"+id
	t.Cleanup(func() {
		ctx := context.Background()
		insp := asynq.NewInspectorFromRedisClient(r.Client)
		_ = insp.DeleteQueue(queue, true)
		var keys []string
		for _, pattern := range []string{prefix + ":*", "asynq:{" + queue + "}:*"} {
			iter := r.Client.Scan(ctx, 0, pattern, 1000).Iterator()
			for iter.Next(ctx) {
				keys = append(keys, iter.Val())
			}
		}
		for start := 0; start < len(keys); start += 1000 {
			r.Client.Del(ctx, keys[start:min(start+1000, len(keys))]...)
		}
	})
	return queue, prefix
}
