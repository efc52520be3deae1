package runs_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/base"
	"bitqueue/internal/input"
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

// TestEnqueueRefusesABadSpec: a run out of range is refused before Redis is
// contacted.
func TestEnqueueRefusesABadSpec(t *testing.T) {
	t.Parallel()
	s, err := runs.New(runs.Config{RDB: neverContacted(t)})
	require.NoError(t, err)
	valid := func() runs.Spec {
		return runs.Spec{RunID: "r", Queue: "q", BatchSize: 10, Source: input.Random(1, 5, 10), Integers: 5}
	}
	tests := []struct {
		name   string
		change func(*runs.Spec)
		want   string
	}{
		{"no queue", func(s *runs.Spec) { s.Queue = "" }, "Spec.Queue is empty"},
		{"batch size zero", func(s *runs.Spec) { s.BatchSize = 0 }, "Spec.BatchSize 0 out of range [1, 100000]"},
		{"too many shards", func(s *runs.Spec) { s.Shards = 257 }, "Spec.Shards 257 out of range [1, 256]"},
		{"negative shards", func(s *runs.Spec) { s.Shards = -1 }, "Spec.Shards -1 out of range"},
		{"a bad run id", func(s *runs.Spec) { s.RunID = "a b" }, "Spec.RunID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			spec := valid()
			tt.change(&spec)
			_, _, err := s.Enqueue(context.Background(), spec)
			require.ErrorContains(t, err, tt.want)
		})
	}
}
