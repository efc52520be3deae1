package redistest

// The testing.TB wrappers: each calls the core, fails the test on error,
// and registers its clean-up with t.Cleanup.

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// Start returns the Redis for t: REDIS_URL when set, otherwise a miniredis
// listening on loopback, closed when t ends.
func Start(t testing.TB) *Redis {
	t.Helper()
	var embedded *miniredis.Miniredis
	url := lookupURL()
	if url == "" {
		embedded = miniredis.RunT(t)
		url = "redis://" + embedded.Addr() + "/0"
		t.Logf("REDIS_URL is not set: using an embedded Redis (miniredis) at %s", embedded.Addr())
	}
	opt, err := redis.ParseURL(url)
	require.NoError(t, err, "REDIS_URL")
	r := &Redis{URL: url, Client: redis.NewClient(opt), Embedded: embedded}
	t.Cleanup(func() { r.Client.Close() })
	require.NoError(t, r.Client.Ping(context.Background()).Err(), "Redis at %s does not answer", r.URL)
	return r
}

// Namespace returns a queue name and a key prefix that belong to t alone, and
// deletes, when t ends, the queue with every asynq key of it (its processed
// and failed counters too) and every key under the prefix.
func (r *Redis) Namespace(t testing.TB) (queue, prefix string) {
	t.Helper()
	queue, prefix = NewNamespace()
	t.Cleanup(func() { _ = r.DeleteNamespace(context.Background(), queue, prefix) })
	return queue, prefix
}

// StartServer starts a redis-server with opts (its data in t's temporary
// directory unless opts.Dir is set) and kills it when t ends, logging the
// last lines it logged when t failed.
func StartServer(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	s, err := NewServer(opts)
	require.NoError(t, err)
	t.Cleanup(func() { closeServer(t, s) })
	return s
}

func closeServer(t testing.TB, s *Server) {
	s.Close()
	if t.Failed() {
		t.Logf("redis-server %s logs (last lines):\n%s", s.Addr, s.LogTail(40))
	}
}

// ClientT returns a client of the server (see Client) that is closed when t
// ends.
func (s *Server) ClientT(t testing.TB) *redis.Client {
	t.Helper()
	c := s.Client()
	t.Cleanup(func() { c.Close() })
	return c
}

// StartFailover starts a Failover (see NewFailover) that stops when t ends.
func StartFailover(t testing.TB, password, sentinelPassword string) *Failover {
	t.Helper()
	f, err := NewFailover(password, sentinelPassword)
	require.NoError(t, err)
	t.Cleanup(func() {
		for _, s := range f.Servers() {
			closeServer(t, s)
		}
	})
	return f
}

// StartCluster starts a Cluster of n masters (see NewCluster) that stops
// when t ends.
func StartCluster(t testing.TB, n int, password string) *Cluster {
	t.Helper()
	c, err := NewCluster(n, password)
	require.NoError(t, err)
	t.Cleanup(func() {
		for _, s := range c.Nodes {
			closeServer(t, s)
		}
	})
	return c
}

// GenerateCerts makes a CA and a server certificate for names (see
// NewCerts) in a temporary directory of t.
func GenerateCerts(t testing.TB, names ...string) *Certs {
	t.Helper()
	c, err := NewCerts(t.TempDir(), names...)
	require.NoError(t, err)
	return c
}

// StartProxy starts a Proxy in front of target that closes when t ends.
func StartProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	p, err := NewProxy(target)
	require.NoError(t, err)
	t.Cleanup(p.Close)
	return p
}

// Spawn starts cmd as StartProcess does and kills its process group when t
// ends, logging the last lines of its output when t failed.
func Spawn(t testing.TB, cmd *exec.Cmd) *Process {
	t.Helper()
	p, err := StartProcess(cmd)
	require.NoError(t, err)
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("%s %d output (last lines):\n%s", filepath.Base(cmd.Path), p.Pid(), p.logs.Tail(60))
		}
	})
	return p
}

// WaitFor checks cond every PollInterval until it holds, failing t, naming
// what it waited for, when timeout passes first. It is the way tests wait
// for a state: never a fixed sleep, never a bare channel receive.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if err := Await(timeout, what, cond); err != nil {
		t.Fatal(err)
	}
}

// FreePortT returns a free loopback port (see FreePort).
func FreePortT(t testing.TB) int {
	t.Helper()
	port, err := FreePort(false)
	require.NoError(t, err)
	return port
}
