package redisconn_test

import (
	"bitqueue/internal/rdb"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/cli"
	"bitqueue/internal/redisconn"
	"bitqueue/redistest"
)

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
			c, err := redisconn.OpenWith(tt.url, opts)
			require.NoError(t, err)
			t.Cleanup(func() { c.Close() })
			log, logs := newLogger()
			start := time.Now()
			err = redisconn.Wait(ctx, rdb.New(c, ""), tt.url, 20*time.Second, log)
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
