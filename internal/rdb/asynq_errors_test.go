package rdb_test

import (
	"context"
	"errors"
	"syscall"
	"testing"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/rdb"
)

// TestAsynqErrorsAreText pins why the classifier still reads wording: an
// enqueue through the real asynq while Redis refuses connections fails with
// an error that has lost go-redis's and the system's types (asynq formats
// its enqueue script's errors into text), and IsTransient still knows it. When an
// asynq upgrade keeps the types, the first assertion fails: the wording
// fallback may then go.
func TestAsynqErrorsAreText(t *testing.T) {
	t.Parallel()
	r, c, p := behindProxy(t)
	queue, _ := r.Namespace(t)
	client := asynq.NewClientFromRedisClient(c)
	t.Cleanup(func() { _ = client.Close() })
	ctx := context.Background()
	// The first enqueue on a queue registers it (SADD, whose error asynq
	// keeps typed); later ones run asynq's enqueue script only.
	_, err := client.EnqueueContext(ctx, asynq.NewTask("outage:test", nil), asynq.Queue(queue))
	require.NoError(t, err)
	p.Down()
	_, err = client.EnqueueContext(ctx, asynq.NewTask("outage:test", nil), asynq.Queue(queue))
	require.Error(t, err)
	require.False(t, errors.Is(err, syscall.ECONNREFUSED), "asynq kept the error's type: %v", err)
	var ne interface{ Timeout() bool }
	require.False(t, errors.As(err, &ne), "asynq kept a net.Error: %v", err)
	require.True(t, rdb.IsTransient(err), "IsTransient(%v)", err)
	require.NoError(t, p.Up())
}

// TestTypedAuthReply checks the typed half of the classifier on a real
// reply: a wrong password is fatal (waiting cannot cure it), not transient.
func TestTypedAuthReply(t *testing.T) {
	t.Parallel()
	r, _, _ := behindProxy(t)
	err := r.Client.Do(context.Background(), "AUTH", "no-such-user", "wrong").Err()
	require.Error(t, err)
	require.True(t, redis.IsAuthError(err), "go-redis types the reply: %v", err)
	hint, fatal := rdb.IsFatal(err)
	require.True(t, fatal)
	require.Contains(t, hint, "check the user and password")
	require.False(t, rdb.IsTransient(err))
}
