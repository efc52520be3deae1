package redistest_test

import (
	"context"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/redistest"
)

// needRedisServer skips t when redis-server is not installed.
func needRedisServer(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skipf("redis-server is not installed (%v); apt-get install redis-server", err)
	}
}

func TestServerLifecycle(t *testing.T) {
	needRedisServer(t)
	t.Parallel()
	ctx := context.Background()
	s := redistest.StartServer(t, redistest.Options{Password: "pw", Users: []string{"alice on >secret ~* &* +@all"}, Args: []string{"--appendonly", "yes"}})
	c := s.ClientT(t)
	require.NoError(t, c.Set(ctx, "k", "v", 0).Err())
	require.Equal(t, "pw", mustParseURL(t, s.URL()).Password)

	require.NoError(t, s.Stop(syscall.SIGTERM))
	require.False(t, s.Running())
	require.Error(t, c.Ping(ctx).Err(), "stopped")
	require.NoError(t, s.Restart())
	require.Equal(t, "v", c.Get(ctx, "k").Val(), "data kept in the append-only file across the restart")
	require.NoError(t, c.Do(ctx, "AUTH", "alice", "secret").Err(), "ACL user set again after the restart")

	require.NoError(t, s.Pause())
	short := s.Client()
	defer short.Close()
	tctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	require.Error(t, short.Ping(tctx).Err(), "a paused server does not answer")
	cancel()
	require.NoError(t, s.Resume())
	require.NoError(t, short.Ping(ctx).Err())

	require.NoError(t, s.LimitMemory(ctx, 1<<20))
	n, err := s.Fill(ctx)
	require.NoError(t, err)
	require.Positive(t, n)
	more, err := s.Fill(ctx)
	require.NoError(t, err)
	require.Less(t, more, max(n/4, 2), "a full server takes little more (what a closed connection freed)")
	require.NoError(t, s.Unfill(ctx))
	require.NoError(t, s.LimitMemory(ctx, -1))
	require.NoError(t, c.Set(ctx, "more", "x", 0).Err())

	s.Kill()
	require.False(t, s.Running())
	require.Contains(t, s.Logs(), "Ready to accept connections")
}

func TestServerTLS(t *testing.T) {
	needRedisServer(t)
	t.Parallel()
	certs := redistest.GenerateCerts(t, "127.0.0.1")
	s := redistest.StartServer(t, redistest.Options{TLS: certs})
	require.Regexp(t, `^rediss://127\.0\.0\.1:\d+/0$`, s.URL())
	require.NoError(t, s.ClientT(t).Ping(context.Background()).Err())
}

func TestServerBinary(t *testing.T) {
	t.Parallel()
	_, err := redistest.NewServer(redistest.Options{Binary: "/no/such/redis-server"})
	require.ErrorContains(t, err, "/no/such/redis-server")

	needRedisServer(t)
	path, err := exec.LookPath("redis-server")
	require.NoError(t, err)
	s, err := redistest.NewServer(redistest.Options{Binary: path})
	require.NoError(t, err)
	t.Cleanup(s.Close)
	c := s.ClientT(t)
	require.NoError(t, c.Ping(context.Background()).Err())
}
