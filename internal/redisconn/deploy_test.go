package redisconn_test

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/rdb"
	"bitqueue/internal/redisconn"
	"bitqueue/redistest"
)

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
			c := open(t, tt.url, tt.opts)
			logs, err := wait(ctx, c, tt.url, 20*time.Second)
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
	c := open(t, url, redisconn.Options{Password: password})
	ctx := context.Background()
	_, err := wait(ctx, c, url, 20*time.Second)
	require.NoError(t, err)
	require.NoError(t, rdb.New(c, "").Ping(ctx))

	cl.Nodes[2].Kill()
	pctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	err = rdb.New(c, "").Ping(pctx)
	require.Error(t, err, "a master is down")
	require.Contains(t, err.Error(), cl.Nodes[2].Addr)
}

// TestTLS runs rediss:// against a redis-server that speaks TLS only, with a
// certificate signed by a CA made for the test.
func TestTLS(t *testing.T) {
	t.Parallel()
	certs := redistest.GenerateCerts(t, "127.0.0.1", "localhost")
	srv := redistest.StartServer(t, redistest.Options{TLS: certs, Password: password})
	other := redistest.GenerateCerts(t, "127.0.0.1") // a CA the server's certificate is not signed by
	tlsURL := "rediss://:" + password + "@" + srv.Addr + "/0"
	port := strings.TrimPrefix(srv.Addr, "127.0.0.1:")

	tests := []struct {
		name string
		url  string
		opts redisconn.Options
		want string // "" when Redis must answer; otherwise part of the error
		fast bool   // the error comes at once, not after waiting
	}{
		{"CA added", tlsURL, redisconn.Options{CAFile: certs.CA}, "", false},
		{"CA added, name from the certificate", "rediss://:" + password + "@localhost:" + port + "/0", redisconn.Options{CAFile: certs.CA}, "", false},
		{"CA added, server name set", tlsURL, redisconn.Options{CAFile: certs.CA, ServerName: "localhost"}, "", false},
		{"password from the environment", "rediss://" + srv.Addr + "/0", redisconn.Options{CAFile: certs.CA, Password: password}, "", false},
		{"system CAs only", tlsURL, redisconn.Options{}, "not signed by a trusted CA: add the CA with --redis-ca FILE", true},
		{"another CA", tlsURL, redisconn.Options{CAFile: other.CA}, "not signed by a trusted CA", true},
		{"name not in the certificate", tlsURL, redisconn.Options{CAFile: certs.CA, ServerName: "redis.example.com"}, "does not hold the host name", true},
		{"wrong password", "rediss://:wrong-" + password + "@" + srv.Addr + "/0", redisconn.Options{CAFile: certs.CA}, "check the user and password", true},
		{"plaintext to the TLS port", "redis://:" + password + "@" + srv.Addr + "/0", redisconn.Options{}, "use a rediss:// URL", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := open(t, tt.url, tt.opts)
			maxWait := 20 * time.Second
			if !tt.fast && tt.want != "" {
				maxWait = 2 * time.Second
			}
			start := time.Now()
			logs, err := wait(context.Background(), c, tt.url, maxWait)
			if tt.want == "" {
				require.NoError(t, err)
				require.NoError(t, c.Set(context.Background(), "tls-test:"+tt.name, "x", time.Minute).Err())
				return
			}
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.want)
			if tt.fast {
				require.Less(t, time.Since(start), 10*time.Second, "a certificate or password error ends the wait at once")
				require.Empty(t, logs.String(), "no retries")
			}
			requireNoSecret(t, err.Error())
			requireNoSecret(t, logs.String())
		})
	}
}

// TestTLSToPlaintextServer checks that a rediss:// URL never falls back to
// plaintext: against a plaintext server it gets no answer, and says why.
func TestTLSToPlaintextServer(t *testing.T) {
	t.Parallel()
	certs := redistest.GenerateCerts(t, "127.0.0.1")
	srv := redistest.StartServer(t, redistest.Options{Password: password})
	url := "rediss://:" + password + "@" + srv.Addr + "/0"
	c := open(t, url, redisconn.Options{CAFile: certs.CA})
	_, err := wait(context.Background(), c, url, 3*time.Second)
	require.ErrorContains(t, err, "did not answer within 3s")
	require.ErrorContains(t, err, "never answers the TLS handshake")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	require.Error(t, c.Set(ctx, "tls-test:plaintext", "x", time.Minute).Err(), "a write over rediss:// to a plaintext server")
	plain := srv.ClientT(t)
	require.Zero(t, plain.Exists(context.Background(), "tls-test:plaintext").Val(), "nothing reached the server in plaintext")
	requireNoSecret(t, err.Error())
}

// TestTLSSentinel reaches a TLS-only master through a TLS-only sentinel with
// a rediss-sentinel:// URL, the master's password in the URL and the test
// CA added with --redis-ca; without the CA the certificate is refused.
func TestTLSSentinel(t *testing.T) {
	t.Parallel()
	certs := redistest.GenerateCerts(t, "127.0.0.1", "localhost")
	tlsRepl := []string{"--tls-replication", "yes"}
	master := redistest.StartServer(t, redistest.Options{TLS: certs, Password: password, Args: tlsRepl})
	sentinel := redistest.StartServer(t, redistest.Options{TLS: certs, Args: tlsRepl, SentinelConf: []string{
		fmt.Sprintf("sentinel monitor %s 127.0.0.1 %d 1", redistest.MasterName, master.Port),
		fmt.Sprintf("sentinel auth-pass %s %s", redistest.MasterName, password),
	}})
	url := "rediss-sentinel://:" + password + "@" + sentinel.Addr + "/0?master=" + redistest.MasterName

	c := open(t, url, redisconn.Options{CAFile: certs.CA})
	_, ok := c.(*redis.Client)
	require.True(t, ok, "a failover client is a *redis.Client, not a %T", c)
	ctx := context.Background()
	_, err := wait(ctx, c, url, 20*time.Second)
	require.NoError(t, err)
	require.NoError(t, c.Set(ctx, "tls-sentinel-test", "x", time.Minute).Err())
	got, err := master.ClientT(t).Get(ctx, "tls-sentinel-test").Result()
	require.NoError(t, err)
	require.Equal(t, "x", got, "the write reached the master")

	_, err = wait(ctx, open(t, url, redisconn.Options{}), url, 20*time.Second)
	require.ErrorContains(t, err, "not signed by a trusted CA")
	requireNoSecret(t, err.Error())
}

// TestTLSCluster reaches a three-master Redis Cluster that speaks TLS only
// (its bus too) with a rediss-cluster:// URL listing two seeds, and writes a
// key on every master.
func TestTLSCluster(t *testing.T) {
	t.Parallel()
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Fatalf("redis-cli is not installed (Debian: apt-get install redis-tools): %v", err)
	}
	certs := redistest.GenerateCerts(t, "127.0.0.1", "localhost")
	args := []string{"--tls", "--cacert", certs.CA, "--cluster", "create"}
	var nodes []*redistest.Server
	for range 3 {
		s := redistest.StartServer(t, redistest.Options{TLS: certs, Cluster: true, Args: []string{"--tls-cluster", "yes", "--tls-replication", "yes"}})
		nodes = append(nodes, s)
		args = append(args, s.Addr)
	}
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput()
	require.NoError(t, err, "redis-cli --cluster create: %s", out)
	for _, s := range nodes {
		cl := s.ClientT(t)
		redistest.WaitFor(t, time.Minute, "cluster node "+s.Addr+" ok", func() bool {
			info, err := cl.ClusterInfo(ctx).Result()
			return err == nil && strings.Contains(info, "cluster_state:ok") && strings.Contains(info, "cluster_known_nodes:3")
		})
	}

	url := "rediss-cluster://" + nodes[0].Addr + "," + nodes[1].Addr
	c := open(t, url, redisconn.Options{CAFile: certs.CA})
	cc, ok := c.(*redis.ClusterClient)
	require.True(t, ok, "a %T", c)
	require.Equal(t, []string{nodes[0].Addr, nodes[1].Addr}, cc.Options().Addrs)
	_, err = wait(ctx, c, url, 30*time.Second)
	require.NoError(t, err)
	for i := range 30 { // keys spread over the slots of every master
		require.NoError(t, c.Set(ctx, "tls-cluster-test-"+strconv.Itoa(i), "x", time.Minute).Err())
	}
}
