package redisconn_test

import (
	"bitqueue/internal/rdb"
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/cli"
	"bitqueue/internal/redisconn"
	"bitqueue/redistest"
)

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
			log, logs := newLogger()
			start := time.Now()
			err := redisconn.Wait(ctx, rdb.New(open(t, tt.url, 0), ""), tt.url, 30*time.Second, log)
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
