package rdb_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/outage"
	"bitqueue/internal/rdb"
	"bitqueue/redistest"
)

// TestFatalReplies gets, from a real redis-server, the replies that no
// amount of waiting changes — a user without permission for a command, a
// database the server does not have, a command it does not know — and
// checks that each is fatal, with a hint, and not transient; also when
// wrapped, as redisconn.PingMasters wraps a master's reply. The same words
// in an error that is not Redis's reply are neither.
func TestFatalReplies(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t, redistest.Options{})
	admin := srv.ClientT(t)
	ctx := context.Background()
	require.NoError(t, admin.Do(ctx, "ACL", "SETUSER", "noping", "on", ">pw", "~*", "+@all", "-ping").Err())
	noping := redis.NewClient(&redis.Options{Addr: srv.Addr, Username: "noping", Password: "pw", MaxRetries: -1})
	t.Cleanup(func() { noping.Close() })
	db99 := redis.NewClient(&redis.Options{Addr: srv.Addr, DB: 99, MaxRetries: -1})
	t.Cleanup(func() { db99.Close() })

	tests := []struct {
		name  string
		reply func() error
		hint  string
	}{
		{"NOPERM", func() error { return noping.Ping(ctx).Err() }, "lacks a permission"},
		{"database out of range", func() error { return db99.Ping(ctx).Err() }, "database at the end of the URL"},
		{"negative database", func() error { return admin.Do(ctx, "SELECT", "-1").Err() }, "database at the end of the URL"},
		{"unknown command", func() error { return admin.Do(ctx, "NOSUCHCOMMAND").Err() }, "does not know a command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.reply()
			require.Error(t, err)
			var reply redis.Error
			require.ErrorAs(t, err, &reply, "a reply of Redis's")
			for _, err := range []error{err, fmt.Errorf("127.0.0.1:7000: %w", err)} {
				hint, fatal := rdb.IsFatal(err)
				require.True(t, fatal, "IsFatal(%v)", err)
				require.Contains(t, hint, tt.hint)
				require.False(t, rdb.IsTransient(err), "IsTransient(%v)", err)
			}
			text := errors.New("run " + err.Error())
			_, fatal := rdb.IsFatal(text)
			require.False(t, fatal, "the words alone, outside a reply: %v", text)
		})
	}
}

// TestAsynqErrorsAreText pins why the classifier still reads wording: an
// enqueue through the real asynq while Redis refuses connections fails with
// an error that has lost go-redis's and the system's types (asynq formats
// its enqueue script's errors into text), and IsTransient still knows it. When an
// asynq upgrade keeps the types, the first assertion fails: the wording
// fallback may then go.
func TestAsynqErrorsAreText(t *testing.T) {
	t.Parallel()
	r, c, p := behindProxy(t)
	queue, _ := r.Namespace(t)
	client := asynq.NewClientFromRedisClient(c)
	t.Cleanup(func() { _ = client.Close() })
	ctx := context.Background()
	// The first enqueue on a queue registers it (SADD, whose error asynq
	// keeps typed); later ones run asynq's enqueue script only.
	_, err := client.EnqueueContext(ctx, asynq.NewTask("outage:test", nil), asynq.Queue(queue))
	require.NoError(t, err)
	p.Down()
	_, err = client.EnqueueContext(ctx, asynq.NewTask("outage:test", nil), asynq.Queue(queue))
	require.Error(t, err)
	require.False(t, errors.Is(err, syscall.ECONNREFUSED), "asynq kept the error's type: %v", err)
	var ne interface{ Timeout() bool }
	require.False(t, errors.As(err, &ne), "asynq kept a net.Error: %v", err)
	require.True(t, rdb.IsTransient(err), "IsTransient(%v)", err)
	require.NoError(t, p.Up())
}

// TestTypedAuthReply checks the typed half of the classifier on a real
// reply: a wrong password is fatal (waiting cannot cure it), not transient.
func TestTypedAuthReply(t *testing.T) {
	t.Parallel()
	r, _, _ := behindProxy(t)
	err := r.Client.Do(context.Background(), "AUTH", "no-such-user", "wrong").Err()
	require.Error(t, err)
	require.True(t, redis.IsAuthError(err), "go-redis types the reply: %v", err)
	hint, fatal := rdb.IsFatal(err)
	require.True(t, fatal)
	require.Contains(t, hint, "check the user and password")
	require.False(t, rdb.IsTransient(err))
}

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
