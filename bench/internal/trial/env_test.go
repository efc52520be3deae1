package trial

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"bitqueue/bench/internal/config"
)

func TestOpenAndClose(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not installed (apt-get install redis-server): the benchmark's environment is not tested")
	}
	ctx := context.Background()
	var log bytes.Buffer
	e, err := Open(ctx, config.Options{RedisServer: "redis-server", ProducerConcurrency: 2, Progress: &log})
	require.NoError(t, err)
	closed := false
	t.Cleanup(func() {
		if !closed {
			e.Close()
		}
	})
	require.Contains(t, e.Redis, "started by the benchmark")
	require.Contains(t, log.String(), e.ID)
	ev, err := e.Admin.ConfigGet(ctx, "notify-keyspace-events").Result()
	require.NoError(t, err)
	require.Contains(t, ev["notify-keyspace-events"], "h", "hash keyspace events on for the results")

	q, err := e.Queue(ctx, "bits")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(q, e.ID+"-"), q)
	a, b := e.NextRunID(), e.NextRunID()
	require.NotEqual(t, a, b)
	require.True(t, strings.HasPrefix(a, e.ID), a)

	opt, err := redis.ParseURL(e.URL)
	require.NoError(t, err)
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	e.Close()
	closed = true
	require.Error(t, c.Ping(ctx).Err(), "the Redis started for the run still answers after Close")
}
