package runs_test

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/base"
	"bitqueue/internal/outage"
	"bitqueue/internal/rdb"
	"bitqueue/internal/runs"
)

// neverContacted is an RDB of a Redis nobody listens for.
func neverContacted(t *testing.T) *rdb.RDB {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { _ = c.Close() })
	return rdb.New(c, "")
}

func TestNewDefaults(t *testing.T) {
	t.Parallel()
	s, err := runs.New(runs.Config{RDB: neverContacted(t)})
	require.NoError(t, err)
	require.Equal(t, 1, s.Concurrency)
	require.Equal(t, outage.DefaultBound, s.RedisWait)
	require.Equal(t, base.DefaultTTL, s.RecordTTL)
	require.Equal(t, runs.DefaultLostAfter, s.LostAfter)
	require.NotNil(t, s.Logger)
}

func TestNewRefuses(t *testing.T) {
	t.Parallel()
	db := neverContacted(t)
	tests := []struct {
		name   string
		change func(*runs.Config)
		want   string // a part of the error
	}{
		{"no Redis", func(c *runs.Config) { c.RDB = nil }, "needs an RDB"},
		{"negative retries", func(c *runs.Config) { c.MaxRetry = -1 }, "Config.MaxRetry -1 must not be negative"},
		{"negative concurrency", func(c *runs.Config) { c.Concurrency = -2 }, "Config.Concurrency -2 must be at least 1"},
		{"negative timeout", func(c *runs.Config) { c.TaskTimeout = -time.Second }, "Config.TaskTimeout -1s must not be negative"},
		{"negative lost after", func(c *runs.Config) { c.LostAfter = -time.Second }, "Config.LostAfter -1s must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := runs.Config{RDB: db, Logger: slog.New(slog.DiscardHandler)}
			tt.change(&c)
			_, err := runs.New(c)
			require.Error(t, err)
			require.True(t, strings.Contains(err.Error(), tt.want), "error %q, want it to hold %q", err, tt.want)
		})
	}
}
