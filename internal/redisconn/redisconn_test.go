package redisconn_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/cli"
	"bitqueue/internal/outage"
	"bitqueue/internal/rdb"
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

// newLogger returns a logger writing text lines into the buffer it returns.
func newLogger() (*slog.Logger, *redistest.LogBuffer) {
	var buf redistest.LogBuffer
	return slog.New(slog.NewTextHandler(&buf, nil)), &buf
}

// wait runs redisconn.Wait on c, of rawURL, for at most maxWait, and
// returns what it logged and its error.
func wait(ctx context.Context, c redis.UniversalClient, rawURL string, maxWait time.Duration) (*redistest.LogBuffer, error) {
	log, logs := newLogger()
	return logs, redisconn.Wait(ctx, rdb.New(c, ""), rawURL, maxWait, log)
}

func TestWaitAnswers(t *testing.T) {
	t.Parallel()
	m := miniredis.RunT(t)
	m.RequireAuth(password)
	url := "redis://:" + password + "@" + m.Addr() + "/0"
	logs, err := wait(context.Background(), open(t, url, redisconn.Options{}), url, 5*time.Second)
	require.NoError(t, err)
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
	start := time.Now()
	logs, err := wait(context.Background(), open(t, url, redisconn.Options{}), url, 300*time.Millisecond)
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
	_, err := wait(ctx, open(t, url, redisconn.Options{}), url, time.Hour)
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
		done <- redisconn.Wait(context.Background(), rdb.New(open(t, url, redisconn.Options{}), ""), url, time.Minute, log)
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

// TestWaitEndsOnSettingReplies runs Wait against a real redis-server that
// answers, but never as the URL asks: a user without permission to PING, a
// database the server does not have. Waiting cannot change the answer:
// Wait ends at once, with no retry, naming the URL redacted and what to
// fix, and the error is a runtime failure (exit 1) as a wrong password's
// is.
func TestWaitEndsOnSettingReplies(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t, redistest.Options{})
	admin := srv.ClientT(t)
	ctx := context.Background()
	require.NoError(t, admin.Do(ctx, "ACL", "SETUSER", "noping", "on", ">"+password, "~*", "+@all", "-ping").Err())
	tests := []struct {
		name, url, want string
	}{
		{"user without PING", "redis://noping:" + password + "@" + srv.Addr + "/0", "NOPERM"},
		{"database out of range", "redis://" + srv.Addr + "/99", "ERR DB index is out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			logs, err := wait(ctx, open(t, tt.url, redisconn.Options{}), tt.url, 30*time.Second)
			require.Error(t, err)
			require.Less(t, time.Since(start), 10*time.Second, "no waiting")
			require.Empty(t, logs.String(), "no retries")
			require.Contains(t, err.Error(), "redis at "+redisconn.Redact(tt.url)+": "+tt.want)
			requireNoSecret(t, err.Error())
			require.Equal(t, cli.ExitFailure, cli.ExitCode(err))
		})
	}
}

// TestURLErrorsShowTheValue checks the URLs refused before Redis is
// contacted: each error shows the URL as given, its password redacted, says
// what is wrong and, through Setup, names the setting it came from; and it
// is a setting's fault (exit 2).
func TestURLErrorsShowTheValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, url, from, want string
	}{
		{"no scheme", "127.0.0.1:6512", "--redis",
			"redis URL 127.0.0.1:6512 (from --redis): no scheme; want redis://HOST:PORT/0, such as redis://127.0.0.1:6512/0"},
		{"no scheme, a password and a database", "alice:" + password + "@h:6379/3", "BITQUEUE_REDIS_URL",
			"redis URL alice:xxxxx@h:6379/3 (from BITQUEUE_REDIS_URL): no scheme; want redis://HOST:PORT/0, such as redis://alice:xxxxx@h:6379/3"},
		{"no scheme, a host name", "localhost:6379", "REDIS_URL",
			"redis URL localhost:6379 (from REDIS_URL): no scheme; want redis://HOST:PORT/0, such as redis://localhost:6379/0"},
		{"no scheme, a password that hides the host", "h:1/" + password + "@x:1", "--redis",
			"redis URL <unparsable URL> (from --redis): no scheme; want redis://HOST:PORT/0"},
		{"port above 65535", "redis://:" + password + "@127.0.0.1:99999/0", "--redis",
			"redis URL redis://:xxxxx@127.0.0.1:99999/0 (from --redis): port 99999 out of range [1, 65535]"},
		{"port 0", "rediss://127.0.0.1:0/0", "--redis",
			"redis URL rediss://127.0.0.1:0/0 (from --redis): port 0 out of range [1, 65535]"},
		{"cluster port", "redis-cluster://127.0.0.1:7000,127.0.0.1:70000", "--redis",
			`redis URL redis-cluster://127.0.0.1:7000,127.0.0.1:70000 (from --redis): address "127.0.0.1:70000": port out of range`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := redisconn.OpenWith(tt.url, redisconn.Options{})
			require.Error(t, err)
			var ue *redisconn.URLError
			require.ErrorAs(t, err, &ue)
			requireNoSecret(t, err.Error())

			var stderr bytes.Buffer
			s := redisconn.Setup{URL: tt.url, URLFrom: tt.from, Wait: time.Hour, LogFormat: "text", LogLevel: "info"}
			start := time.Now()
			_, _, err = s.Start(context.Background(), &stderr)
			require.EqualError(t, err, tt.want)
			require.Less(t, time.Since(start), 10*time.Second, "refused before any wait")
			require.Equal(t, cli.ExitUsage, cli.ExitCode(err))
		})
	}
}

// retryIn reads the wait of each attempt that a log of Wait reports.
var retryIn = regexp.MustCompile(`attempt=(\d+) retry_in=(\S+)`)

// TestWaitSpreadsRetries starts 20 Waits at once against a Redis that is
// down, as 20 workers of a fleet start while Redis restarts, and reads from
// their logs when each plans its second and third attempts: spread, where a
// schedule without jitter has all of them try again 100 ms and 300 ms after
// their first attempt.
func TestWaitSpreadsRetries(t *testing.T) {
	t.Parallel()
	const clients = 20
	addr := closedAddr(t)
	url := "redis://" + addr + "/0"
	logs := make([]*redistest.LogBuffer, clients)
	var wg sync.WaitGroup
	for c := range clients {
		log, buf := newLogger()
		logs[c] = buf
		// One dial a ping, no retry of the command: the attempts are Wait's.
		client := redis.NewClient(&redis.Options{Addr: addr, DialerRetries: 1, MaxRetries: -1})
		t.Cleanup(func() { client.Close() })
		db := rdb.New(client, "")
		wg.Go(func() {
			// Long enough for two attempts: the first wait is at most 150 ms.
			require.Error(t, redisconn.Wait(context.Background(), db, url, time.Second, log))
		})
	}
	wg.Wait()
	second, third := make([]time.Duration, clients), make([]time.Duration, clients)
	for c, buf := range logs {
		m := retryIn.FindAllStringSubmatch(buf.String(), -1)
		require.GreaterOrEqual(t, len(m), 2, "attempts logged by Wait %d:\n%s", c, buf.String())
		require.Equal(t, []string{"1", "2"}, []string{m[0][1], m[1][1]})
		first, err := time.ParseDuration(m[0][2])
		require.NoError(t, err)
		then, err := time.ParseDuration(m[1][2])
		require.NoError(t, err)
		second[c], third[c] = first, first+then
	}
	redistest.RequireSpread(t, second, outage.FirstBackoff)
	redistest.RequireSpread(t, third, 3*outage.FirstBackoff)
}

// TestCredentials runs every way of giving credentials against a real
// redis-server with requirepass and an ACL user.
func TestCredentials(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t, redistest.Options{Password: password})
	admin := srv.ClientT(t)
	ctx := context.Background()
	const userPassword = "alice-" + password
	require.NoError(t, admin.Do(ctx, "ACL", "SETUSER", "alice", "on", ">"+userPassword, "~*", "&*", "+@all").Err())
	require.NoError(t, admin.Do(ctx, "ACL", "SETUSER", "bob", "off", ">"+userPassword, "~*", "+@all").Err())

	tests := []struct {
		name string
		url  string
		env  map[string]string
		want string // "" when Redis must answer; otherwise part of the error
	}{
		{"requirepass in the URL", "redis://:" + password + "@" + srv.Addr + "/0", nil, ""},
		{"default user named in the URL", "redis://default:" + password + "@" + srv.Addr + "/0", nil, ""},
		{"ACL user in the URL", "redis://alice:" + userPassword + "@" + srv.Addr + "/0", nil, ""},
		{"REDIS_PASSWORD", "redis://" + srv.Addr + "/0", map[string]string{"REDIS_PASSWORD": password}, ""},
		{"ACL user with REDIS_PASSWORD", "redis://alice@" + srv.Addr + "/0", map[string]string{"REDIS_PASSWORD": userPassword}, ""},
		{"the URL's password wins", "redis://:" + password + "@" + srv.Addr + "/0", map[string]string{"REDIS_PASSWORD": "wrong-" + password}, ""},
		{"no password", "redis://" + srv.Addr + "/0", nil, "check the user and password"},
		{"wrong password in the URL", "redis://:wrong-" + password + "@" + srv.Addr + "/0", nil, "check the user and password"},
		{"wrong REDIS_PASSWORD", "redis://" + srv.Addr + "/0", map[string]string{"REDIS_PASSWORD": "wrong-" + password}, "check the user and password"},
		{"disabled ACL user", "redis://bob:" + userPassword + "@" + srv.Addr + "/0", nil, "check the user and password"},
		{"unknown ACL user", "redis://carol@" + srv.Addr + "/0", map[string]string{"REDIS_PASSWORD": userPassword}, "check the user and password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := cli.Redis{}.Options(func(k string) string { return tt.env[k] })
			c := open(t, tt.url, opts)
			start := time.Now()
			logs, err := wait(ctx, c, tt.url, 20*time.Second)
			if tt.want == "" {
				require.NoError(t, err)
				key := "auth-test:" + tt.name
				require.NoError(t, c.Set(ctx, key, "x", time.Minute).Err())
				require.Equal(t, "x", admin.Get(ctx, key).Val())
				return
			}
			require.ErrorContains(t, err, tt.want)
			require.Less(t, time.Since(start), 10*time.Second, "a credentials error ends the wait at once")
			require.Empty(t, logs.String(), "no retries")
			requireNoSecret(t, err.Error())
			require.NotContains(t, err.Error(), userPassword)
		})
	}
}
