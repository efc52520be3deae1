package e2e

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/redistest"
)

const (
	redisPassword = "e2e-Pa55word-do-not-log"
	aclPassword   = "e2e-acl-Pa55word-do-not-log"
)

// requireNoPassword checks that s shows none of the test's passwords.
func requireNoPassword(t *testing.T, what, s string) {
	t.Helper()
	for _, pw := range []string{redisPassword, aclPassword, "Pa55word"} {
		require.NotContains(t, s, pw, "%s shows a password", what)
	}
}

// TestCredentials runs the fleet against a redis-server with requirepass and
// with an ACL user that may touch only asynq's keys and the run's results,
// with the password in the URL or in REDIS_PASSWORD, and checks that no
// password is ever logged or printed.
func TestCredentials(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t, redistest.Options{Password: redisPassword})
	ctx := context.Background()
	admin := srv.ClientT(t)
	nums := testNumbers(3000)

	// Least privilege: asynq's keys and pub/sub channel, the run's keys.
	acl := newDeployment("")
	require.NoError(t, admin.Do(ctx, "ACL", "SETUSER", "bitqueue", "on", ">"+aclPassword,
		"~asynq:*", "~"+acl.prefix+":*", "&asynq:*", "+@all", "-@admin", "-@dangerous").Err())

	cases := []struct {
		name string
		d    deployment
	}{
		{"password in the URL", newDeployment("redis://:" + redisPassword + "@" + srv.Addr + "/0")},
		{"REDIS_PASSWORD", newDeployment("redis://" + srv.Addr + "/0").with("REDIS_PASSWORD=" + redisPassword)},
		{"ACL user in the URL", deployment{url: "redis://bitqueue:" + aclPassword + "@" + srv.Addr + "/0", queue: acl.queue, prefix: acl.prefix}},
		{"ACL user with REDIS_PASSWORD", deployment{url: "redis://bitqueue@" + srv.Addr + "/0", queue: acl.queue + "-env", prefix: acl.prefix}.with("REDIS_PASSWORD=" + aclPassword)},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			runID := fmt.Sprintf("auth-%d", i)
			w := c.d.startWorker(t)
			r := c.d.requireRun(t, nums, "-batch-size", "500", "-run-id", runID)
			require.Contains(t, w.Logs(), `msg="batch done"`)
			for seq := range 6 {
				require.Equal(t, int64(1), admin.Exists(ctx, fmt.Sprintf("%s:result:%s:%d", c.d.prefix, runID, seq)).Val(), "result %d", seq)
			}
			require.Equal(t, 0, w.stop(t, syscall.SIGTERM))
			requireNoPassword(t, "worker logs", w.Logs())
			requireNoPassword(t, "producer output", r.stderr+r.stdout)
		})
	}

	t.Run("the ACL user cannot reach other keys", func(t *testing.T) {
		user := srv.Client()
		defer user.Close()
		require.NoError(t, user.Do(ctx, "AUTH", "bitqueue", aclPassword).Err())
		require.ErrorContains(t, user.Set(ctx, "other:key", "x", time.Minute).Err(), "NOPERM")
	})

	t.Run("wrong credentials fail at once, without the password", func(t *testing.T) {
		for _, d := range []deployment{
			newDeployment("redis://:wrong-" + redisPassword + "@" + srv.Addr + "/0"),
			newDeployment("redis://" + srv.Addr + "/0").with("REDIS_PASSWORD=wrong-" + redisPassword),
			newDeployment("redis://" + srv.Addr + "/0"),
			newDeployment("redis://bitqueue:wrong-" + aclPassword + "@" + srv.Addr + "/0"),
		} {
			w := d.spawnWorker(t, "-redis-wait", "30s")
			start := time.Now()
			require.Equal(t, 1, w.exitCode(t, 20*time.Second))
			require.Less(t, time.Since(start), 15*time.Second, "a credentials error ends the wait at once")
			require.Contains(t, w.Logs(), "check the user and password")
			requireNoPassword(t, "worker logs", w.Logs())
			r := d.produce(t, "-count", "10", "-redis-wait", "30s")
			require.Equal(t, 1, r.code, r.stderr)
			require.Contains(t, r.stderr, "check the user and password")
			requireNoPassword(t, "producer output", r.stderr+r.stdout)
			require.False(t, strings.Contains(w.Logs(), "msg=serving"), "a worker without access does not serve")
		}
	})
}
