package rdb_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/outage"
	"bitqueue/internal/rdb"
	"bitqueue/redistest"
)

// behindProxy returns a client of t's Redis through a proxy that can fake an
// outage, with timeouts short enough for a hung Redis to show within seconds, long enough for a loaded machine.
func behindProxy(t *testing.T) (*redistest.Redis, *redis.Client, *redistest.Proxy) {
	t.Helper()
	r := redistest.Start(t)
	p := redistest.StartProxy(t, r.Client.Options().Addr)
	opt := *r.Client.Options()
	opt.Addr, opt.MaxRetries = p.Addr(), -1
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = 2*time.Second, 2*time.Second, 2*time.Second
	c := redis.NewClient(&opt)
	t.Cleanup(func() { c.Close() })
	return r, c, p
}

// The errors a real go-redis client returns while Redis is stopped, stuck
// or cutting connections are the ones the Rider rides out.
func TestRealOutageErrorsAreTransient(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fault func(*redistest.Proxy)
	}{
		{"stopped: connection refused", (*redistest.Proxy).Down},
		{"stuck: i/o timeout", (*redistest.Proxy).Hang},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, c, p := behindProxy(t)
			ctx := context.Background()
			require.NoError(t, c.Ping(ctx).Err())
			tt.fault(p)
			err := c.Ping(ctx).Err()
			require.Error(t, err)
			require.True(t, rdb.IsTransient(err), "IsTransient(%v)", err)
			require.NoError(t, p.Up())
			require.NoError(t, c.Ping(ctx).Err())
		})
	}
}

// A Rider carries a write through a Redis outage: it logs the outage when it
// begins, retries with backoff while Redis is away, and succeeds, logging
// the end, once Redis is back.
func TestRiderThroughAnOutage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fault func(*redistest.Proxy)
	}{
		{"down", (*redistest.Proxy).Down},
		{"hung", (*redistest.Proxy).Hang},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, c, p := behindProxy(t)
			_, prefix := r.Namespace(t)
			key := prefix + ":rider"
			var logs redistest.LogBuffer
			rider := outage.New(time.Minute, slog.New(slog.NewTextHandler(&logs, nil)))
			ctx := context.Background()
			require.NoError(t, c.Ping(ctx).Err())

			tt.fault(p)
			attempts := 0
			done := make(chan error, 1)
			go func() {
				done <- rider.Do(ctx, "set", func() error {
					attempts++
					return c.Set(ctx, key, "v", time.Minute).Err()
				})
			}()
			redistest.WaitFor(t, 30*time.Second, "the outage logged", func() bool { return logs.Contains("redis unreachable; retrying with backoff") })
			require.NoError(t, p.Up())
			var err error
			redistest.WaitFor(t, 30*time.Second, "the write through", func() bool {
				select {
				case err = <-done:
					return true
				default:
					return false
				}
			})
			require.NoError(t, err)
			require.Greater(t, attempts, 1, "attempts")
			require.Equal(t, "v", c.Get(ctx, key).Val())
			require.Equal(t, 1, strings.Count(logs.String(), "redis unreachable; retrying with backoff"), logs.String())
			require.Equal(t, 1, strings.Count(logs.String(), "redis reachable again"), logs.String())
		})
	}
}
