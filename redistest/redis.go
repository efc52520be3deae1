package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"

	"github.com/alicebob/miniredis/v2"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// URLEnv is the variable naming the Redis tests share; when it is unset each
// test gets an embedded Redis of its own.
const URLEnv = "REDIS_URL"

// Redis is a Redis server reachable by the test and by processes it starts.
type Redis struct {
	URL      string
	Client   *redis.Client
	Embedded *miniredis.Miniredis // nil when URL names a real server
}

// NewNamespace returns a queue name and a key prefix nobody else uses:
// "test-<12 hex digits>" and "bqtest-<the same digits>".
func NewNamespace() (queue, prefix string) {
	var b [6]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	return "test-" + id, "bqtest-" + id
}

// DeleteNamespace deletes queue with every asynq key of it (its processed
// and failed counters too) and every key under prefix.
func (r *Redis) DeleteNamespace(ctx context.Context, queue, prefix string) error {
	insp := asynq.NewInspectorFromRedisClient(r.Client)
	_ = insp.DeleteQueue(queue, true) // a queue never used does not exist
	var keys []string
	for _, pattern := range []string{prefix + ":*", "asynq:{" + queue + "}:*"} {
		iter := r.Client.Scan(ctx, 0, pattern, 1000).Iterator()
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if err := iter.Err(); err != nil {
			return err
		}
	}
	for start := 0; start < len(keys); start += 1000 {
		if err := r.Client.Del(ctx, keys[start:min(start+1000, len(keys))]...).Err(); err != nil {
			return err
		}
	}
	return nil
}

// lookupURL returns REDIS_URL.
func lookupURL() string { return os.Getenv(URLEnv) }
