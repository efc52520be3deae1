package redisconn_test

import (
	"bitqueue/internal/rdb"
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/redisconn"
	"bitqueue/redistest"
)

const password = "s3cr3t-pw"

// requireNoSecret checks that s shows no part of the test password.
func requireNoSecret(t *testing.T, s string) {
	t.Helper()
	for _, part := range []string{password, "s3cr3t", "12345"} {
		require.NotContains(t, s, part, "the password leaks")
	}
}

// open is redisconn.OpenWith with a pool of poolSize that fails the test
// on error and closes the client
// when the test ends.
func open(t *testing.T, rawURL string, poolSize int) redis.UniversalClient {
	t.Helper()
	c, err := redisconn.OpenWith(rawURL, redisconn.Options{PoolSize: poolSize})
	require.NoError(t, err)
	require.NotNil(t, c)
	t.Cleanup(func() { c.Close() })
	return c
}

func TestOpen(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		url      string
		poolSize int
		addr     string
		db       int
		user     string
		password string
		pool     int // 0: at least poolSize
		tls      bool
	}{
		{"default", redisconn.DefaultURL, 0, "127.0.0.1:6379", 0, "", "", 0, false},
		{"password and db", "redis://:" + password + "@10.0.0.1:6380/3", 0, "10.0.0.1:6380", 3, "", password, 0, false},
		{"user and password", "redis://alice:" + password + "@example.com:6379/1", 0, "example.com:6379", 1, "alice", password, 0, false},
		{"escaped password", "redis://:s3cr3t%2Fpw@h:1/0", 0, "h:1", 0, "", "s3cr3t/pw", 0, false},
		{"TLS", "rediss://:" + password + "@example.com:6380/0", 0, "example.com:6380", 0, "", password, 0, true},
		{"pool size raised", "redis://h:1/0", 64, "h:1", 0, "", "", 64, false},
		{"pool size from the URL kept when larger", "redis://h:1/0?pool_size=100", 64, "h:1", 0, "", "", 100, false},
		{"pool size from the URL raised", "redis://h:1/0?pool_size=7", 64, "h:1", 0, "", "", 64, false},
		{"pool size from the URL alone", "redis://h:1/0?pool_size=7", 0, "h:1", 0, "", "", 7, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := open(t, tt.url, tt.poolSize)
			rc, ok := c.(*redis.Client)
			require.True(t, ok, "a %T", c)
			opt := rc.Options()
			require.Equal(t, tt.addr, opt.Addr)
			require.Equal(t, tt.db, opt.DB)
			require.Equal(t, tt.user, opt.Username)
			require.Equal(t, tt.password, opt.Password)
			if tt.pool != 0 {
				require.Equal(t, tt.pool, opt.PoolSize)
			}
			require.GreaterOrEqual(t, opt.PoolSize, tt.poolSize)
			require.Equal(t, tt.tls, opt.TLSConfig != nil, "TLS")
		})
	}
}

func TestOpenSentinel(t *testing.T) {
	t.Parallel()
	// Open does not contact the sentinels: these addresses need not exist.
	c := open(t, "redis-sentinel://:"+password+"@sentinel-1:26379,sentinel-2:26379?master=mymaster", 32)
	rc, ok := c.(*redis.Client)
	require.True(t, ok, "a failover client is a %T", c)
	require.GreaterOrEqual(t, rc.Options().PoolSize, 32)
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		url  string
		want string
	}{
		{"empty", "", `scheme ""`},
		{"http", "http://:" + password + "@example.com/", `scheme "http"`},
		{"no scheme", "127.0.0.1:6379", "redis URL"},
		{"unix socket scheme", "redis-socket://:" + password + "@/tmp/redis.sock", `scheme "redis-socket"`},
		{"unparsable", "redis://:" + password + "@[::1", "<unparsable URL>"},
		{"bad port", "redis://:" + password + "@host:port/0", "<unparsable URL>"},
		{"control character", "redis://:" + password + "@host\n:6379/0", "<unparsable URL>"},
		{"bad database", "redis://:" + password + "@host:6379/abc", "invalid database number"},
		{"bad option", "redis://:" + password + "@host:6379/0?pool_size=many", "pool_size"},
		{"unknown option", "redis://:" + password + "@host:6379/0?nope=1", "nope"},
		// Special characters must be percent-encoded in a password: the
		// parser's messages about such URLs must not show its pieces.
		{"slash in password", "redis://:s3cr3t/pw@host:6379/0", "redis URL"},
		{"hash in password", "redis://:s3cr3t#pw@host:6379/0", "redis URL"},
		{"question mark in password", "redis://:s3cr3t?pw@host:6379/0", "redis URL"},
		{"slash after digits in password", "redis://:12345/s3cr3t-pw@host:6379/0", "redis URL"},
		{"hash after digits in password", "redis://:12345#s3cr3t-pw@host:6379/0", "redis URL"},
		{"user and slash in password", "redis://alice:12345/s3cr3t@host:6379/0", "redis URL"},
		{"bad escape in password", "redis://:s3cr3t%zzpw@host:6379/0", "redis URL"},
		{"no slashes", "redis::s3cr3t-pw@host:6379/0", "'@' after the host"},
		{"at sign and slash in password", "redis://:12@345/s3cr3t-pw@host:6379/0", "'@' after the host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := redisconn.OpenWith(tt.url, redisconn.Options{})
			require.Error(t, err)
			require.Nil(t, c)
			require.True(t, strings.HasPrefix(err.Error(), "redis URL "), err.Error())
			require.Contains(t, err.Error(), tt.want)
			requireNoSecret(t, err.Error())
		})
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, url, want string
	}{
		{"no user info", "redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"},
		{"password", "redis://:" + password + "@127.0.0.1:6379/0", "redis://:xxxxx@127.0.0.1:6379/0"},
		{"user and password", "redis://alice:" + password + "@h:6379/0?pool_size=3", "redis://alice:xxxxx@h:6379/0?pool_size=3"},
		{"user only", "redis://alice@h:6379/0", "redis://alice@h:6379/0"},
		{"escaped password", "rediss://:s3cr3t%2Fpw@h:6380/0", "rediss://:xxxxx@h:6380/0"},
		{"sentinel", "redis-sentinel://:" + password + "@a:1,b:2?master=m", "redis-sentinel://:xxxxx@a:1,b:2?master=m"},
		{"unparsable", "redis://:" + password + "@[::1", "<unparsable URL>"},
		{"bad port", "redis://:" + password + "@h:port/0", "<unparsable URL>"},
		{"slash after digits in password", "redis://:12345/s3cr3t-pw@host:6379/0", "<unparsable URL>"},
		{"hash after digits in password", "redis://:12345#s3cr3t-pw@host:6379/0", "<unparsable URL>"},
		{"question mark after digits in password", "redis://:12345?s3cr3t-pw@host:6379/0", "<unparsable URL>"},
		{"no slashes", "redis::s3cr3t-pw@host:6379/0", "<unparsable URL>"},
		{"at sign and slash in password", "redis://:12@345/s3cr3t-pw@host:6379/0", "<unparsable URL>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := redisconn.Redact(tt.url)
			require.Equal(t, tt.want, got)
			requireNoSecret(t, got)
		})
	}
}

func newLogger() (*slog.Logger, *redistest.LogBuffer) {
	var buf redistest.LogBuffer
	return slog.New(slog.NewTextHandler(&buf, nil)), &buf
}

func TestWaitAnswers(t *testing.T) {
	t.Parallel()
	m := miniredis.RunT(t)
	m.RequireAuth(password)
	url := "redis://:" + password + "@" + m.Addr() + "/0"
	log, logs := newLogger()
	require.NoError(t, redisconn.Wait(context.Background(), rdb.New(open(t, url, 0), ""), url, 5*time.Second, log))
	require.Empty(t, logs.String(), "a Redis that answers at once logs nothing")
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

func TestWaitGivesUp(t *testing.T) {
	t.Parallel()
	addr := closedAddr(t)
	url := "redis://:" + password + "@" + addr + "/0"
	log, logs := newLogger()
	start := time.Now()
	err := redisconn.Wait(context.Background(), rdb.New(open(t, url, 0), ""), url, 300*time.Millisecond, log)
	require.Error(t, err)
	require.Less(t, time.Since(start), 10*time.Second, "Wait gives up after maxWait rather than hanging")
	require.Contains(t, err.Error(), "redis at redis://:xxxxx@"+addr+"/0 did not answer within 300ms")
	requireNoSecret(t, err.Error())
	require.Contains(t, logs.String(), "redis not reachable yet; retrying")
	require.Contains(t, logs.String(), "attempt=1")
	requireNoSecret(t, logs.String())
}

func TestWaitCancelled(t *testing.T) {
	t.Parallel()
	url := "redis://:" + password + "@" + closedAddr(t) + "/0"
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	log, _ := newLogger()
	err := redisconn.Wait(ctx, rdb.New(open(t, url, 0), ""), url, time.Hour, log)
	require.Error(t, err)
	require.Contains(t, err.Error(), "did not answer within 1h0m0s")
	requireNoSecret(t, err.Error())
}

func TestWaitForLateRedis(t *testing.T) {
	t.Parallel()
	addr := closedAddr(t)
	url := "redis://:" + password + "@" + addr + "/0"
	log, logs := newLogger()
	done := make(chan error, 1)
	go func() {
		done <- redisconn.Wait(context.Background(), rdb.New(open(t, url, 0), ""), url, time.Minute, log)
	}()

	// Start Redis once Wait has failed at least once.
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "attempt=1") }, 30*time.Second, 10*time.Millisecond)
	m := miniredis.NewMiniRedis()
	m.RequireAuth(password)
	require.NoError(t, m.StartAddr(addr))
	t.Cleanup(m.Close)

	require.NoError(t, <-done)
	require.Contains(t, logs.String(), "redis reachable")
	require.Contains(t, logs.String(), "redis=redis://:xxxxx@"+addr+"/0")
	requireNoSecret(t, logs.String())
}
