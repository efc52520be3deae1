package redisconn_test

import (
	"bitqueue/internal/rdb"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/redisconn"
	"bitqueue/redistest"
)

// TestOpenDeployments checks the client and settings each URL form and
// option makes, without contacting Redis.
func TestOpenDeployments(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		url      string
		opts     redisconn.Options
		cluster  bool
		addrs    []string // cluster seed nodes
		db       int
		user     string
		password string
		pool     int
	}{
		{"redis with REDIS_PASSWORD", "redis://h:1/2", redisconn.Options{Password: password}, false, nil, 2, "", password, 0},
		{"redis user with REDIS_PASSWORD", "redis://alice@h:1/0", redisconn.Options{Password: password}, false, nil, 0, "alice", password, 0},
		{"redis URL password wins", "redis://:" + password + "@h:1/0", redisconn.Options{Password: "other"}, false, nil, 0, "", password, 0},
		{"sentinel", "redis-sentinel://s1:26379,s2:26379?master=mymaster", redisconn.Options{PoolSize: 20}, false, nil, 0, "", "", 20},
		{"sentinel with db and master password", "redis-sentinel://:" + password + "@s1:26379/3?master=m", redisconn.Options{}, false, nil, 3, "", password, 0},
		{"sentinel with ACL user", "redis-sentinel://alice:" + password + "@s1:26379?master=m", redisconn.Options{}, false, nil, 0, "alice", password, 0},
		{"sentinel with REDIS_PASSWORD", "redis-sentinel://s1:26379?master=m", redisconn.Options{Password: password, SentinelPassword: "other"}, false, nil, 0, "", password, 0},
		{"cluster", "redis-cluster://n1:7000,n2:7001,n3:7002", redisconn.Options{PoolSize: 12}, true, []string{"n1:7000", "n2:7001", "n3:7002"}, 0, "", "", 12},
		{"cluster with one seed, db 0", "redis-cluster://:" + password + "@n1:7000/0", redisconn.Options{}, true, []string{"n1:7000"}, 0, "", password, 0},
		{"cluster with ACL user", "redis-cluster://alice:" + password + "@n1:7000", redisconn.Options{}, true, []string{"n1:7000"}, 0, "alice", password, 0},
		{"cluster with REDIS_PASSWORD", "redis-cluster://n1:7000/", redisconn.Options{Password: password}, true, []string{"n1:7000"}, 0, "", password, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := redisconn.OpenWith(tt.url, tt.opts)
			require.NoError(t, err)
			t.Cleanup(func() { c.Close() })
			if tt.cluster {
				cc, ok := c.(*redis.ClusterClient)
				require.True(t, ok, "a %T", c)
				o := cc.Options()
				require.Equal(t, tt.addrs, o.Addrs)
				require.Equal(t, tt.user, o.Username)
				require.Equal(t, tt.password, o.Password)
				require.GreaterOrEqual(t, o.PoolSize, tt.pool)
				return
			}
			rc, ok := c.(*redis.Client)
			require.True(t, ok, "a %T", c)
			o := rc.Options()
			require.Equal(t, tt.db, o.DB)
			require.Equal(t, tt.user, o.Username)
			require.Equal(t, tt.password, o.Password)
			require.GreaterOrEqual(t, o.PoolSize, tt.pool)
		})
	}
}

func TestOpenDeploymentErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		url  string
		want string
	}{
		{"sentinel without master", "redis-sentinel://:" + password + "@s1:26379", "?master=NAME"},
		{"sentinel with empty master", "redis-sentinel://s1:26379?master=", "?master=NAME"},
		{"sentinel with another option", "redis-sentinel://s1:26379?master=m&sentinel_password=" + password, `unknown option "sentinel_password"`},
		{"sentinel without port", "redis-sentinel://:" + password + "@s1?master=m", `"s1" is not host:port`},
		{"sentinel with an empty address", "redis-sentinel://s1:26379,,s2:26379?master=m", `"" is not host:port`},
		{"password as an option", "redis://h:6379/0?password=" + password, "password"},
		{"sentinel with a bad database", "redis-sentinel://s1:26379/x?master=m", "invalid database number"},
		{"cluster with a database", "redis-cluster://:" + password + "@n1:7000/2", "database 0 only"},
		{"cluster with options", "redis-cluster://n1:7000?pool_size=3", "takes no options"},
		{"cluster with port 0", "redis-cluster://n1:0", "port out of range"},
		{"cluster without host", "redis-cluster://:" + password + "@:7000", "is not host:port"},
		{"socket", "redis-socket:///tmp/redis.sock", `want redis, rediss, redis-sentinel, rediss-sentinel, redis-cluster or rediss-cluster`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := redisconn.OpenWith(tt.url, redisconn.Options{})
			require.Nil(t, c)
			require.ErrorContains(t, err, tt.want)
			require.True(t, strings.HasPrefix(err.Error(), "redis URL "), err.Error())
			requireNoSecret(t, err.Error())
		})
	}
}

// TestSentinelCredentials connects through a real sentinel that has a
// password of its own to a master that has another.
func TestSentinelCredentials(t *testing.T) {
	t.Parallel()
	const sentinelPassword = "sentinel-" + password
	f := redistest.StartFailover(t, password, sentinelPassword)
	url := "redis-sentinel://" + f.Sentinel.Addr + "/1?master=" + redistest.MasterName
	ctx := context.Background()
	tests := []struct {
		name string
		url  string
		opts redisconn.Options
		want string
	}{
		{"both passwords", url, redisconn.Options{Password: password, SentinelPassword: sentinelPassword}, ""},
		{"master password in the URL", "redis-sentinel://:" + password + "@" + f.Sentinel.Addr + "/1?master=" + redistest.MasterName, redisconn.Options{SentinelPassword: sentinelPassword}, ""},
		{"no sentinel password", url, redisconn.Options{Password: password}, "NOAUTH"},
		{"no master password", url, redisconn.Options{SentinelPassword: sentinelPassword}, "check the user and password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := redisconn.OpenWith(tt.url, tt.opts)
			require.NoError(t, err)
			t.Cleanup(func() { c.Close() })
			log, logs := newLogger()
			err = redisconn.Wait(ctx, rdb.New(c, ""), tt.url, 20*time.Second, log)
			if tt.want == "" {
				require.NoError(t, err)
				require.NoError(t, c.Set(ctx, "sentinel-test:"+tt.name, "x", time.Minute).Err())
				master := f.Master.ClientT(t)
				require.NoError(t, master.Do(ctx, "SELECT", 1).Err())
				return
			}
			require.ErrorContains(t, err, tt.want)
			requireNoSecret(t, err.Error())
			requireNoSecret(t, logs.String())
			require.NotContains(t, err.Error(), sentinelPassword)
		})
	}
}

// TestClusterPing checks that Wait on a cluster client needs every master to
// answer, and names the one that does not.
func TestClusterPing(t *testing.T) {
	t.Parallel()
	cl := redistest.StartCluster(t, 3, password)
	url := "redis-cluster://" + cl.Addrs()
	c, err := redisconn.OpenWith(url, redisconn.Options{Password: password})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	ctx := context.Background()
	log, _ := newLogger()
	require.NoError(t, redisconn.Wait(ctx, rdb.New(c, ""), url, 20*time.Second, log))
	require.NoError(t, rdb.New(c, "").Ping(ctx))

	cl.Nodes[2].Kill()
	pctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	err = rdb.New(c, "").Ping(pctx)
	require.Error(t, err, "a master is down")
	require.Contains(t, err.Error(), cl.Nodes[2].Addr)
}
