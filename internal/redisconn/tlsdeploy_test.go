package redisconn_test

import (
	"bitqueue/internal/rdb"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/redisconn"
	"bitqueue/redistest"
)

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

	c, err := redisconn.OpenWith(url, redisconn.Options{CAFile: certs.CA})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	_, ok := c.(*redis.Client)
	require.True(t, ok, "a failover client is a *redis.Client, not a %T", c)
	log, _ := newLogger()
	ctx := context.Background()
	require.NoError(t, redisconn.Wait(ctx, rdb.New(c, ""), url, 20*time.Second, log))
	require.NoError(t, c.Set(ctx, "tls-sentinel-test", "x", time.Minute).Err())
	got, err := master.ClientT(t).Get(ctx, "tls-sentinel-test").Result()
	require.NoError(t, err)
	require.Equal(t, "x", got, "the write reached the master")

	bare, err := redisconn.OpenWith(url, redisconn.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { bare.Close() })
	err = redisconn.Wait(ctx, rdb.New(bare, ""), url, 20*time.Second, log)
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
	c, err := redisconn.OpenWith(url, redisconn.Options{CAFile: certs.CA})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	cc, ok := c.(*redis.ClusterClient)
	require.True(t, ok, "a %T", c)
	require.Equal(t, []string{nodes[0].Addr, nodes[1].Addr}, cc.Options().Addrs)
	log, _ := newLogger()
	require.NoError(t, redisconn.Wait(ctx, rdb.New(c, ""), url, 30*time.Second, log))
	for i := range 30 { // keys spread over the slots of every master
		require.NoError(t, c.Set(ctx, "tls-cluster-test-"+strconv.Itoa(i), "x", time.Minute).Err())
	}
}
