package redistest

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// Cluster is a Redis Cluster of masters without replicas.
type Cluster struct {
	Nodes []*Server
}

// NewCluster starts n cluster-mode servers (n ≥ 3) with password (none when
// empty), joins them with `redis-cli --cluster create … --cluster-replicas 0`,
// and waits until every node reports the cluster ok. Close stops them.
func NewCluster(n int, password string) (_ *Cluster, err error) {
	if n < 3 {
		return nil, fmt.Errorf("a Redis Cluster needs at least 3 masters, not %d", n)
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		return nil, fmt.Errorf("redis-cli is not installed (Debian: apt-get install redis-tools); it creates the cluster: %w", err)
	}
	c := &Cluster{}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	args := []string{"--no-auth-warning", "--cluster", "create"}
	if password != "" {
		args = append([]string{"-a", password}, args...)
	}
	var auth []string
	if password != "" {
		auth = []string{"--masterauth", password}
	}
	for range n {
		s, err := NewServer(Options{Password: password, Cluster: true, Args: auth})
		if err != nil {
			return nil, err
		}
		c.Nodes = append(c.Nodes, s)
		args = append(args, s.Addr)
	}
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("redis-cli --cluster create: %w: %s", err, out)
	}
	for _, s := range c.Nodes {
		cl := s.Client()
		var info string
		err := Await(StartTimeout, "cluster node "+s.Addr+" ok", func() bool {
			var err error
			info, err = cl.ClusterInfo(context.Background()).Result()
			return err == nil && strings.Contains(info, "cluster_state:ok") && strings.Contains(info, fmt.Sprintf("cluster_known_nodes:%d", n))
		})
		cl.Close()
		if err != nil {
			return nil, fmt.Errorf("%w:\n%s", err, info)
		}
	}
	return c, nil
}

// Addrs returns the nodes' addresses, comma-separated.
func (c *Cluster) Addrs() string {
	addrs := make([]string, len(c.Nodes))
	for i, s := range c.Nodes {
		addrs[i] = s.Addr
	}
	return strings.Join(addrs, ",")
}

// Close stops every node.
func (c *Cluster) Close() {
	for _, s := range c.Nodes {
		s.Close()
	}
}
