package redisconn_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/cli"
	"bitqueue/internal/redisconn"
	"bitqueue/redistest"
)

// TestSetupSettingErrors checks that a bad setting is refused before Redis
// is contacted, with an error the commands turn into exit code 2.
func TestSetupSettingErrors(t *testing.T) {
	t.Parallel()
	valid := redisconn.Setup{URL: "redis://127.0.0.1:1/0", LogFormat: "text", LogLevel: "info", Wait: time.Hour}
	tests := []struct {
		name   string
		change func(*redisconn.Setup)
		want   string
	}{
		{"log format", func(s *redisconn.Setup) { s.LogFormat = "xml" }, `log format "xml", want text or json`},
		{"log level", func(s *redisconn.Setup) { s.LogLevel = "loud" }, `log level "loud"`},
		{"scheme", func(s *redisconn.Setup) { s.URL = "http://h:1" }, `scheme "http"`},
		{"TLS option without TLS", func(s *redisconn.Setup) { s.Options.CAFile = "ca.pem" }, "need a rediss:// URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := valid
			tt.change(&s)
			var stderr bytes.Buffer
			_, _, err := s.Start(context.Background(), &stderr) // a wait would last an hour
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.want)
			require.Equal(t, cli.ExitUsage, cli.ExitCode(err))
		})
	}
}

// TestSetupStart checks that Start waits for a Redis that answers and hands
// back an RDB of it, under the prefix asked for, and a logger in the format asked for.
func TestSetupStart(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	var stderr bytes.Buffer
	db, log, err := redisconn.Setup{URL: r.URL, PoolSize: 3, Wait: 10 * time.Second, LogFormat: "json", LogLevel: "info", Prefix: "p"}.Start(context.Background(), &stderr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	require.NoError(t, db.Ping(context.Background()))
	require.Equal(t, "p", db.Prefix())
	log.Info("hello")
	require.True(t, strings.HasPrefix(stderr.String(), "{"), "a JSON line: %q", stderr.String())
}

// TestSetupUnreachable checks that Start's failure to reach Redis is a
// runtime failure (exit 1), not a setting's.
func TestSetupUnreachable(t *testing.T) {
	t.Parallel()
	var stderr bytes.Buffer
	_, _, err := redisconn.Setup{URL: "redis://127.0.0.1:1/0", Wait: 300 * time.Millisecond, LogFormat: "text", LogLevel: "error"}.Start(context.Background(), &stderr)
	require.Error(t, err)
	require.Contains(t, err.Error(), "did not answer within 300ms")
	require.Equal(t, cli.ExitFailure, cli.ExitCode(err))
}
