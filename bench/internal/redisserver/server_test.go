package redisserver

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// needServer skips t, saying why, where redis-server is not installed.
func needServer(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not installed (apt-get install redis-server): the benchmark's own server is not tested")
	}
}

func TestStartAndStop(t *testing.T) {
	t.Parallel()
	needServer(t)
	ctx := context.Background()
	s, err := Start(ctx, "redis-server")
	require.NoError(t, err)
	opt, err := redis.ParseURL(s.URL)
	require.NoError(t, err)
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	require.NoError(t, c.Ping(ctx).Err())
	save, err := c.ConfigGet(ctx, "save").Result()
	require.NoError(t, err)
	require.Equal(t, "", save["save"], "no persistence")
	s.Stop()
	require.Error(t, c.Ping(ctx).Err(), "the server still answers after Stop")
	_, err = os.Stat(s.dir)
	require.True(t, os.IsNotExist(err), "the server's directory is left: %v", err)
}

func TestStartNamesAMissingBinary(t *testing.T) {
	t.Parallel()
	_, err := Start(context.Background(), "no-such-redis-server")
	require.ErrorContains(t, err, "no-such-redis-server not found")
}
