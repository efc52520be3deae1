package redistest

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// MasterName is the name the sentinel of a Failover monitors its master by.
const MasterName = "mymaster"

// Failover is a master, one replica of it and one sentinel watching them with
// a quorum of 1: SIGKILL the master and the sentinel promotes the replica
// within a few seconds.
type Failover struct {
	Master, Replica, Sentinel *Server
	sentinelPassword          string
}

// NewFailover starts a Failover. password protects the master and the
// replica (and the replica uses it to follow the master); sentinelPassword
// protects the sentinel. Either may be empty. It returns once the sentinel
// knows the replica and the replica is in sync. Close stops all three.
func NewFailover(password, sentinelPassword string) (_ *Failover, err error) {
	f := &Failover{sentinelPassword: sentinelPassword}
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	var auth []string
	if password != "" {
		auth = []string{"--masterauth", password}
	}
	if f.Master, err = NewServer(Options{Password: password, Args: auth}); err != nil {
		return nil, err
	}
	if f.Replica, err = NewServer(Options{Password: password, Args: append([]string{"--replicaof", "127.0.0.1", strconv.Itoa(f.Master.Port)}, auth...)}); err != nil {
		return nil, err
	}
	conf := []string{
		fmt.Sprintf("sentinel monitor %s 127.0.0.1 %d 1", MasterName, f.Master.Port),
		fmt.Sprintf("sentinel down-after-milliseconds %s 1000", MasterName),
		fmt.Sprintf("sentinel failover-timeout %s 10000", MasterName),
		fmt.Sprintf("sentinel parallel-syncs %s 1", MasterName),
	}
	if password != "" {
		conf = append(conf, fmt.Sprintf("sentinel auth-pass %s %s", MasterName, password))
	}
	if f.Sentinel, err = NewServer(Options{Password: sentinelPassword, SentinelConf: conf}); err != nil {
		return nil, err
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	replica := f.Replica.Client()
	defer replica.Close()
	sc := f.SentinelClient()
	defer sc.Close()
	for {
		info, _ := replica.Info(ctx, "replication").Result()
		replicas, _ := sc.Replicas(ctx, MasterName).Result()
		if strings.Contains(info, "master_link_status:up") && len(replicas) == 1 && replicas[0]["flags"] == "slave" {
			return f, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("replica not in sync or unknown to the sentinel within a minute: %s; sentinel sees %v", info, replicas)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// SentinelClient returns a client of the sentinel; the caller closes it.
func (f *Failover) SentinelClient() *redis.SentinelClient {
	return redis.NewSentinelClient(&redis.Options{Addr: f.Sentinel.Addr, Password: f.sentinelPassword, MaxRetries: -1})
}

// MasterAddr returns the address the sentinel reports for the master.
func (f *Failover) MasterAddr(ctx context.Context) (string, error) {
	sc := f.SentinelClient()
	defer sc.Close()
	hp, err := sc.GetMasterAddrByName(ctx, MasterName).Result()
	if err != nil {
		return "", err
	}
	if len(hp) != 2 {
		return "", fmt.Errorf("sentinel answered %v", hp)
	}
	return net.JoinHostPort(hp[0], hp[1]), nil
}

// Servers returns the servers started so far, for logs and clean-up.
func (f *Failover) Servers() []*Server {
	var all []*Server
	for _, s := range []*Server{f.Master, f.Replica, f.Sentinel} {
		if s != nil {
			all = append(all, s)
		}
	}
	return all
}

// Close stops every server of the failover.
func (f *Failover) Close() {
	for _, s := range f.Servers() {
		s.Close()
	}
}
