// Package rdb issues every Redis command bitqueue sends itself — result
// hashes and done marks, run records, their tombstones and index, tick
// marks, wake-ups, queue lookups — and hands the one Redis client to asynq,
// whose own commands go through asynq's Client, Inspector and Server. The
// difference between a Redis Cluster and a single Redis (or one behind
// Sentinel) is decided here, once: on a cluster no transaction spans two
// keys of different slots. Keys and formats are package base's; this
// package holds no other knowledge of them.
package rdb

import (
	"context"
	"fmt"
	"sync"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"bitqueue/internal/base"
)

// RDB is bitqueue's access to one Redis deployment, under one key prefix.
// It is safe for concurrent use. Close closes what it opened for asynq; the
// go-redis client stays its opener's.
type RDB struct {
	client  redis.UniversalClient
	prefix  string
	cluster bool

	once sync.Once
	enq  *asynq.Client
	insp *asynq.Inspector
}

// New returns the RDB of client under prefix (base.DefaultPrefix when
// empty).
func New(client redis.UniversalClient, prefix string) *RDB {
	if prefix == "" {
		prefix = base.DefaultPrefix
	}
	_, cluster := client.(*redis.ClusterClient)
	return &RDB{client: client, prefix: prefix, cluster: cluster}
}

// WithPrefix returns an RDB on the same client under another prefix.
func (r *RDB) WithPrefix(prefix string) *RDB { return New(r.client, prefix) }

// Prefix returns the prefix of the keys r reads and writes.
func (r *RDB) Prefix() string { return r.prefix }

// OnCluster reports whether r is a Redis Cluster's.
func (r *RDB) OnCluster() bool { return r.cluster }

// Client returns the go-redis client, for what takes one as a whole (asynq's
// constructors, a test's hook); its commands are r's methods.
func (r *RDB) Client() redis.UniversalClient { return r.client }

// Password returns the password r authenticates with, so that an error
// quoting it can be redacted.
func (r *RDB) Password() string {
	switch c := r.client.(type) {
	case *redis.Client:
		return c.Options().Password
	case *redis.ClusterClient:
		return c.Options().Password
	}
	return ""
}

// Close closes the asynq client and inspector r made, if any, and then the
// go-redis client.
func (r *RDB) Close() error {
	if r.enq != nil {
		_ = r.enq.Close()
	}
	return r.client.Close()
}

func (r *RDB) asynq() {
	r.once.Do(func() {
		r.enq = asynq.NewClientFromRedisClient(r.client)
		r.insp = asynq.NewInspectorFromRedisClient(r.client)
	})
}

// Inspector returns asynq's inspector of r's Redis: queues, tasks, servers.
func (r *RDB) Inspector() *asynq.Inspector {
	r.asynq()
	return r.insp
}

// Enqueue enqueues t with asynq, with opts.
func (r *RDB) Enqueue(ctx context.Context, t *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error) {
	r.asynq()
	return r.enq.EnqueueContext(ctx, t, opts...)
}

// NewServer returns an asynq server on r's Redis.
func (r *RDB) NewServer(cfg asynq.Config) *asynq.Server {
	return asynq.NewServerFromRedisClient(r.client, cfg)
}

// Ping checks that Redis answers: every master of a Redis Cluster, the
// current master of a sentinel-managed Redis, the server otherwise.
func (r *RDB) Ping(ctx context.Context) error {
	if r.cluster {
		return r.PingMasters(ctx)
	}
	return r.client.Ping(ctx).Err()
}

// PingMasters pings every master of a Redis Cluster, naming the first that
// does not answer; for any other Redis it does nothing and returns nil. A
// cluster client's own PING reaches one node only.
func (r *RDB) PingMasters(ctx context.Context) error {
	cc, ok := r.client.(*redis.ClusterClient)
	if !ok {
		return nil
	}
	return cc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		if err := m.Ping(ctx).Err(); err != nil {
			return fmt.Errorf("%s: %w", m.Options().Addr, err) // wrapped, so that IsFatal sees Redis's reply
		}
		return nil
	})
}
