package redistest_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"bitqueue/redistest"
)

func TestProxy(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	p := redistest.StartProxy(t, r.Client.Options().Addr)
	opt := *r.Client.Options()
	opt.Addr, opt.MaxRetries, opt.DialTimeout, opt.ReadTimeout = p.Addr(), -1, 200*time.Millisecond, 200*time.Millisecond
	c := redis.NewClient(&opt)
	t.Cleanup(func() { c.Close() })
	ctx := context.Background()
	ping := func() error { return c.Ping(ctx).Err() }

	require.NoError(t, ping(), "through the proxy")

	p.Down()
	err := ping()
	if err != nil && !strings.Contains(err.Error(), "connection refused") {
		// The pooled connection was cut before the client saw it closed:
		// the next ping dials, and is refused.
		require.ErrorIs(t, err, io.EOF, "down")
		err = ping()
	}
	require.ErrorContains(t, err, "connection refused", "down")
	require.NoError(t, p.Up())
	require.NoError(t, ping(), "up again on the same address")

	p.Hang()
	err = ping()
	require.Error(t, err, "hung")
	require.ErrorContains(t, err, "i/o timeout")
	require.NoError(t, p.Up())
	require.NoError(t, ping(), "up after a hang")

	// Drop cuts an open connection; a new one is served.
	conn, err := net.Dial("tcp", p.Addr())
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	rd := bufio.NewReader(conn)
	_, err = conn.Write([]byte("*1\r\n$4\r\nPING\r\n"))
	require.NoError(t, err)
	line, err := rd.ReadString('\n')
	require.NoError(t, err)
	require.Contains(t, []string{"+PONG\r\n", "-NOAUTH Authentication required.\r\n"}, line)
	p.Drop()
	_, err = rd.ReadString('\n')
	require.ErrorIs(t, err, io.EOF, "the connection was cut")
	// The client's pooled connection was cut too: its first ping may find
	// it dead before a new one is dialled.
	require.Eventually(t, func() bool { return ping() == nil }, 10*time.Second, 10*time.Millisecond, "a new connection is served")
}
