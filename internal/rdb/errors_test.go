package rdb_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

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
