package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
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

// Open connects to the Redis at url and checks that it answers. Close
// closes the client.
func Open(ctx context.Context, url string) (*Redis, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", URLEnv, err)
	}
	r := &Redis{URL: url, Client: redis.NewClient(opt)}
	if err := r.Client.Ping(ctx).Err(); err != nil {
		r.Client.Close()
		return nil, fmt.Errorf("Redis at %s does not answer: %w", url, err)
	}
	return r, nil
}

// Embedded starts a miniredis on loopback and connects to it. Close stops
// it.
func Embedded(ctx context.Context) (*Redis, error) {
	m, err := miniredis.Run()
	if err != nil {
		return nil, err
	}
	r, err := Open(ctx, "redis://"+m.Addr()+"/0")
	if err != nil {
		m.Close()
		return nil, err
	}
	r.Embedded = m
	return r, nil
}

// FromEnv is Open on REDIS_URL when it is set, Embedded otherwise.
func FromEnv(ctx context.Context) (*Redis, error) {
	if url := lookupURL(); url != "" {
		return Open(ctx, url)
	}
	return Embedded(ctx)
}

// Close closes the client, and stops the embedded server if there is one.
func (r *Redis) Close() {
	if r.Client != nil {
		r.Client.Close()
	}
	if r.Embedded != nil {
		r.Embedded.Close()
	}
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
