package redisproc

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Cluster is a Redis Cluster of masters without replicas.
type Cluster struct {
	Nodes []*Server
}

// StartCluster starts n cluster-mode servers (n ≥ 3) with password (none when
// empty), joins them with `redis-cli --cluster create … --cluster-replicas 0`,
// and waits until every node reports the cluster ok.
func StartCluster(t testing.TB, n int, password string) *Cluster {
	t.Helper()
	require.GreaterOrEqual(t, n, 3, "Redis Cluster needs at least 3 masters")
	cli, err := exec.LookPath("redis-cli")
	require.NoError(t, err, "redis-cli is not installed (Debian: apt-get install redis-tools); the test needs it to create a cluster")
	c := &Cluster{}
	args := []string{"--no-auth-warning", "--cluster", "create"}
	if password != "" {
		args = append([]string{"-a", password}, args...)
	}
	var auth []string
	if password != "" {
		auth = []string{"--masterauth", password}
	}
	for range n {
		s := Start(t, Options{Password: password, Cluster: true, Args: auth})
		c.Nodes = append(c.Nodes, s)
		args = append(args, s.Addr)
	}
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput()
	require.NoError(t, err, "redis-cli --cluster create: %s", out)

	deadline := time.Now().Add(startTimeout)
	for _, s := range c.Nodes {
		cl := s.Client()
		for {
			info, err := cl.ClusterInfo(context.Background()).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") && strings.Contains(info, fmt.Sprintf("cluster_known_nodes:%d", n)) {
				break
			}
			if time.Now().After(deadline) {
				cl.Close()
				t.Fatalf("cluster node %s not ok within %s: %v\n%s", s.Addr, startTimeout, err, info)
			}
			time.Sleep(50 * time.Millisecond)
		}
		cl.Close()
	}
	return c
}

// Addrs returns the nodes' addresses, comma-separated.
func (c *Cluster) Addrs() string {
	addrs := make([]string, len(c.Nodes))
	for i, s := range c.Nodes {
		addrs[i] = s.Addr
	}
	return strings.Join(addrs, ",")
}
