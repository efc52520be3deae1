package runs_test

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/base"
	"bitqueue/internal/outage"
	"bitqueue/internal/results"
	"bitqueue/internal/runs"
)

// newP returns runs.New(c), failing the test on an error.
func newP(t *testing.T, c runs.Config) *runs.Producer {
	t.Helper()
	p, err := runs.New(c)
	require.NoError(t, err)
	return p
}

func TestNewDefaults(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never contacted
	t.Cleanup(func() { _ = rdb.Close() })
	p := newP(t, runs.Config{
		Client:    asynq.NewClientFromRedisClient(rdb),
		Inspector: asynq.NewInspectorFromRedisClient(rdb),
		Store:     &results.Store{Client: rdb},
		Queue:     "q",
		BatchSize: 10,
	})
	require.Equal(t, 1, p.Shards)
	require.Equal(t, 1, p.Concurrency)
	require.Equal(t, outage.DefaultBound, p.RedisWait)
	require.Equal(t, base.DefaultTTL, p.RecordTTL)
	require.Equal(t, runs.DefaultLostAfter, p.LostAfter)
	require.NotNil(t, p.Logger)
	require.Equal(t, []string{"q"}, p.Queues())
}

func TestNewRefuses(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never contacted
	t.Cleanup(func() { _ = rdb.Close() })
	valid := func() runs.Config {
		return runs.Config{
			Client:    asynq.NewClientFromRedisClient(rdb),
			Inspector: asynq.NewInspectorFromRedisClient(rdb),
			Store:     &results.Store{Client: rdb},
			Queue:     "q",
			BatchSize: 10,
			Logger:    slog.New(slog.DiscardHandler),
		}
	}
	tests := []struct {
		name   string
		change func(*runs.Config)
		want   string // a part of the error
	}{
		{"no store", func(c *runs.Config) { c.Store = nil }, "needs a Client, an Inspector and a Store"},
		{"no queue", func(c *runs.Config) { c.Queue = "" }, "Config.Queue is empty"},
		{"batch size zero", func(c *runs.Config) { c.BatchSize = 0 }, "Config.BatchSize 0 must be at least 1"},
		{"too many shards", func(c *runs.Config) { c.Shards = 257 }, "Config.Shards 257 out of range [1, 256]"},
		{"negative shards", func(c *runs.Config) { c.Shards = -1 }, "Config.Shards -1 out of range"},
		{"negative retries", func(c *runs.Config) { c.MaxRetry = -1 }, "Config.MaxRetry -1 must not be negative"},
		{"negative concurrency", func(c *runs.Config) { c.Concurrency = -2 }, "Config.Concurrency -2 must be at least 1"},
		{"negative timeout", func(c *runs.Config) { c.TaskTimeout = -time.Second }, "Config.TaskTimeout -1s must not be negative"},
		{"negative lost after", func(c *runs.Config) { c.LostAfter = -time.Second }, "Config.LostAfter -1s must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := valid()
			tt.change(&c)
			_, err := runs.New(c)
			require.Error(t, err)
			require.True(t, strings.Contains(err.Error(), tt.want), "error %q, want it to hold %q", err, tt.want)
		})
	}
}
