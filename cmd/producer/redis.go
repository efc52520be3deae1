package main

import (
	"context"
	"log/slog"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"bitqueue/internal/redisconn"
	"bitqueue/internal/results"
	"bitqueue/internal/runs"
	"bitqueue/internal/shard"
)

// redisSetup returns c's Redis and logging settings with a connection pool
// of at least poolSize.
func (c config) redisSetup(poolSize int) redisconn.Setup {
	return redisconn.Setup{URL: c.redisURL, URLFrom: c.redisFrom, Options: c.redisOpts, PoolSize: poolSize, Wait: c.redisWait, LogFormat: c.logFormat, LogLevel: c.logLevel}
}

// runsConfig is the configuration of the run producer c's flags describe,
// enqueueing with client and reading with inspector and store.
func (c config) runsConfig(client *asynq.Client, inspector *asynq.Inspector, store *results.Store, log *slog.Logger) runs.Config {
	return runs.Config{
		Client:      client,
		Inspector:   inspector,
		Store:       store,
		Queue:       c.queue,
		Shards:      c.shards,
		BatchSize:   c.batchSize,
		MaxRetry:    c.maxRetry,
		Concurrency: c.concurrency,
		TaskTimeout: c.taskTimeout,
		Retention:   c.retention,
		RedisWait:   c.redisWait,
		Logger:      log,
		RecordTTL:   c.recordTTL,
		LostAfter:   c.lostAfter,
	}
}

// logPlacement logs, on a Redis Cluster, which master holds each queue, and
// warns about masters that hold none, since they take no part in the run.
func logPlacement(ctx context.Context, rdb redis.UniversalClient, queues []string, log *slog.Logger) {
	cc, ok := rdb.(*redis.ClusterClient)
	if !ok {
		return
	}
	p, err := shard.Place(ctx, cc, queues)
	if err != nil {
		log.Warn("could not find which cluster master holds each queue", "err", err)
		return
	}
	for addr, qs := range p.Queues {
		log.Info("cluster master", "addr", addr, "queues", qs)
	}
	if len(p.Idle) > 0 {
		log.Warn("cluster masters hold none of the queues and take no part: raise --shards (on the producer and the workers) to spread the queues over every master", "idle", p.Idle, "shards", len(queues), "masters", len(p.Queues))
	}
}
