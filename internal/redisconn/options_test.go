package redisconn_test

import (
	"os"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/redisconn"
	"bitqueue/redistest"
)

// open is redisconn.OpenWith that fails the test on error and closes the
// client when the test ends.
func open(t *testing.T, rawURL string, o redisconn.Options) redis.UniversalClient {
	t.Helper()
	c, err := redisconn.OpenWith(rawURL, o)
	require.NoError(t, err)
	require.NotNil(t, c)
	t.Cleanup(func() { c.Close() })
	return c
}

// settings is what a client was opened with: a cluster's seed nodes or a
// client's one address, its database, credentials, pool size and whether
// it speaks TLS.
type settings struct {
	cluster        bool
	addrs          []string
	db             int
	user, password string
	pool           int
	tls            bool
}

// settingsOf reads the settings of c, a *redis.Client or a
// *redis.ClusterClient, without contacting Redis.
func settingsOf(t *testing.T, c redis.UniversalClient) settings {
	t.Helper()
	switch c := c.(type) {
	case *redis.ClusterClient:
		o := c.Options()
		return settings{cluster: true, addrs: o.Addrs, user: o.Username, password: o.Password, pool: o.PoolSize, tls: o.TLSConfig != nil}
	case *redis.Client:
		o := c.Options()
		return settings{addrs: []string{o.Addr}, db: o.DB, user: o.Username, password: o.Password, pool: o.PoolSize, tls: o.TLSConfig != nil}
	}
	require.FailNow(t, "not a client of one Redis or of a cluster", "a %T", c)
	return settings{}
}

// TestOpen checks the client and settings each URL form and option makes,
// without contacting Redis: a sentinel's addresses need not exist.
func TestOpen(t *testing.T) {
	t.Parallel()
	plain := func(addr string, db int, user, password string) settings {
		return settings{addrs: []string{addr}, db: db, user: user, password: password}
	}
	cluster := func(user, password string, addrs ...string) settings {
		return settings{cluster: true, addrs: addrs, user: user, password: password}
	}
	sentinel := func(db int, user, password string) settings { // its addresses are the sentinels'
		return settings{db: db, user: user, password: password}
	}
	tests := []struct {
		name string
		url  string
		opts redisconn.Options
		want settings // pool: 0 for at least opts.PoolSize
	}{
		{"default", redisconn.DefaultURL, redisconn.Options{}, plain("127.0.0.1:6379", 0, "", "")},
		{"password and db", "redis://:" + password + "@10.0.0.1:6380/3", redisconn.Options{}, plain("10.0.0.1:6380", 3, "", password)},
		{"user and password", "redis://alice:" + password + "@example.com:6379/1", redisconn.Options{}, plain("example.com:6379", 1, "alice", password)},
		{"escaped password", "redis://:s3cr3t%2Fpw@h:1/0", redisconn.Options{}, plain("h:1", 0, "", "s3cr3t/pw")},
		{"TLS", "rediss://:" + password + "@example.com:6380/0", redisconn.Options{}, settings{addrs: []string{"example.com:6380"}, password: password, tls: true}},
		{"pool size raised", "redis://h:1/0", redisconn.Options{PoolSize: 64}, settings{addrs: []string{"h:1"}, pool: 64}},
		{"pool size from the URL kept when larger", "redis://h:1/0?pool_size=100", redisconn.Options{PoolSize: 64}, settings{addrs: []string{"h:1"}, pool: 100}},
		{"pool size from the URL raised", "redis://h:1/0?pool_size=7", redisconn.Options{PoolSize: 64}, settings{addrs: []string{"h:1"}, pool: 64}},
		{"pool size from the URL alone", "redis://h:1/0?pool_size=7", redisconn.Options{}, settings{addrs: []string{"h:1"}, pool: 7}},
		{"redis with REDIS_PASSWORD", "redis://h:1/2", redisconn.Options{Password: password}, plain("h:1", 2, "", password)},
		{"redis user with REDIS_PASSWORD", "redis://alice@h:1/0", redisconn.Options{Password: password}, plain("h:1", 0, "alice", password)},
		{"redis URL password wins", "redis://:" + password + "@h:1/0", redisconn.Options{Password: "other"}, plain("h:1", 0, "", password)},
		{"sentinel", "redis-sentinel://s1:26379,s2:26379?master=mymaster", redisconn.Options{PoolSize: 20}, sentinel(0, "", "")},
		{"sentinel with master password", "redis-sentinel://:" + password + "@sentinel-1:26379,sentinel-2:26379?master=mymaster", redisconn.Options{PoolSize: 32}, sentinel(0, "", password)},
		{"sentinel with db and master password", "redis-sentinel://:" + password + "@s1:26379/3?master=m", redisconn.Options{}, sentinel(3, "", password)},
		{"sentinel with ACL user", "redis-sentinel://alice:" + password + "@s1:26379?master=m", redisconn.Options{}, sentinel(0, "alice", password)},
		{"sentinel with REDIS_PASSWORD", "redis-sentinel://s1:26379?master=m", redisconn.Options{Password: password, SentinelPassword: "other"}, sentinel(0, "", password)},
		{"cluster", "redis-cluster://n1:7000,n2:7001,n3:7002", redisconn.Options{PoolSize: 12}, cluster("", "", "n1:7000", "n2:7001", "n3:7002")},
		{"cluster with one seed, db 0", "redis-cluster://:" + password + "@n1:7000/0", redisconn.Options{}, cluster("", password, "n1:7000")},
		{"cluster with ACL user", "redis-cluster://alice:" + password + "@n1:7000", redisconn.Options{}, cluster("alice", password, "n1:7000")},
		{"cluster with REDIS_PASSWORD", "redis-cluster://n1:7000/", redisconn.Options{Password: password}, cluster("", password, "n1:7000")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := settingsOf(t, open(t, tt.url, tt.opts))
			require.GreaterOrEqual(t, got.pool, tt.opts.PoolSize)
			if tt.want.pool == 0 {
				got.pool = 0
			}
			if tt.want.addrs == nil {
				got.addrs = nil
			}
			require.Equal(t, tt.want, got)
		})
	}
}

// TestOpenErrors checks the URLs and options refused before any connection
// is made: each error starts "redis URL" and shows no secret.
func TestOpenErrors(t *testing.T) {
	t.Parallel()
	certs := redistest.GenerateCerts(t, "127.0.0.1")
	notPEM := t.TempDir() + "/ca.txt"
	require.NoError(t, os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600))
	tests := []struct {
		name string
		url  string
		opts redisconn.Options
		want string
	}{
		{"empty", "", redisconn.Options{}, `scheme ""`},
		{"http", "http://:" + password + "@example.com/", redisconn.Options{}, `scheme "http"`},
		{"no scheme", "127.0.0.1:6379", redisconn.Options{}, "redis URL"},
		{"unix socket scheme", "redis-socket://:" + password + "@/tmp/redis.sock", redisconn.Options{}, `scheme "redis-socket"`},
		{"unparsable", "redis://:" + password + "@[::1", redisconn.Options{}, "<unparsable URL>"},
		{"bad port", "redis://:" + password + "@host:port/0", redisconn.Options{}, "<unparsable URL>"},
		{"control character", "redis://:" + password + "@host\n:6379/0", redisconn.Options{}, "<unparsable URL>"},
		{"bad database", "redis://:" + password + "@host:6379/abc", redisconn.Options{}, "invalid database number"},
		{"bad option", "redis://:" + password + "@host:6379/0?pool_size=many", redisconn.Options{}, "pool_size"},
		{"unknown option", "redis://:" + password + "@host:6379/0?nope=1", redisconn.Options{}, "nope"},
		// Special characters must be percent-encoded in a password: the
		// parser's messages about such URLs must not show its pieces.
		{"slash in password", "redis://:s3cr3t/pw@host:6379/0", redisconn.Options{}, "redis URL"},
		{"hash in password", "redis://:s3cr3t#pw@host:6379/0", redisconn.Options{}, "redis URL"},
		{"question mark in password", "redis://:s3cr3t?pw@host:6379/0", redisconn.Options{}, "redis URL"},
		{"slash after digits in password", "redis://:12345/s3cr3t-pw@host:6379/0", redisconn.Options{}, "redis URL"},
		{"hash after digits in password", "redis://:12345#s3cr3t-pw@host:6379/0", redisconn.Options{}, "redis URL"},
		{"user and slash in password", "redis://alice:12345/s3cr3t@host:6379/0", redisconn.Options{}, "redis URL"},
		{"bad escape in password", "redis://:s3cr3t%zzpw@host:6379/0", redisconn.Options{}, "redis URL"},
		{"no slashes", "redis::s3cr3t-pw@host:6379/0", redisconn.Options{}, "'@' after the host"},
		{"at sign and slash in password", "redis://:12@345/s3cr3t-pw@host:6379/0", redisconn.Options{}, "'@' after the host"},
		{"sentinel without master", "redis-sentinel://:" + password + "@s1:26379", redisconn.Options{}, "?master=NAME"},
		{"sentinel with empty master", "redis-sentinel://s1:26379?master=", redisconn.Options{}, "?master=NAME"},
		{"sentinel with another option", "redis-sentinel://s1:26379?master=m&sentinel_password=" + password, redisconn.Options{}, `unknown option "sentinel_password"`},
		{"sentinel without port", "redis-sentinel://:" + password + "@s1?master=m", redisconn.Options{}, `"s1" is not host:port`},
		{"sentinel with an empty address", "redis-sentinel://s1:26379,,s2:26379?master=m", redisconn.Options{}, `"" is not host:port`},
		{"password as an option", "redis://h:6379/0?password=" + password, redisconn.Options{}, "password"},
		{"sentinel with a bad database", "redis-sentinel://s1:26379/x?master=m", redisconn.Options{}, "invalid database number"},
		{"cluster with a database", "redis-cluster://:" + password + "@n1:7000/2", redisconn.Options{}, "database 0 only"},
		{"cluster with options", "redis-cluster://n1:7000?pool_size=3", redisconn.Options{}, "takes no options"},
		{"cluster with port 0", "redis-cluster://n1:0", redisconn.Options{}, "port out of range"},
		{"cluster without host", "redis-cluster://:" + password + "@:7000", redisconn.Options{}, "is not host:port"},
		{"socket", "redis-socket:///tmp/redis.sock", redisconn.Options{}, `want redis, rediss, redis-sentinel, rediss-sentinel, redis-cluster or rediss-cluster`},
		{"CA with plaintext", "redis://:" + password + "@h:6379/0", redisconn.Options{CAFile: certs.CA}, "need a rediss:// URL"},
		{"server name with plaintext", "redis://h:6379/0", redisconn.Options{ServerName: "h"}, "need a rediss:// URL"},
		{"CA with sentinel", "redis-sentinel://h:26379?master=m", redisconn.Options{CAFile: certs.CA}, "need a rediss:// URL"},
		{"CA with cluster", "redis-cluster://h:7000", redisconn.Options{CAFile: certs.CA}, "need a rediss:// URL"},
		{"skip_verify", "rediss://:" + password + "@h:6380/0?skip_verify=true", redisconn.Options{}, "cannot be turned off"},
		{"skip_verify false", "rediss://h:6380/0?skip_verify=false", redisconn.Options{}, "cannot be turned off"},
		{"missing CA file", "rediss://h:6380/0", redisconn.Options{CAFile: "/nonexistent/ca.pem"}, "--redis-ca"},
		{"CA file without a certificate", "rediss://h:6380/0", redisconn.Options{CAFile: notPEM}, "holds no PEM certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := redisconn.OpenWith(tt.url, tt.opts)
			require.Nil(t, c)
			require.ErrorContains(t, err, tt.want)
			require.True(t, strings.HasPrefix(err.Error(), "redis URL "), err.Error())
			requireNoSecret(t, err.Error())
		})
	}
}
