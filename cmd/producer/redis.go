package main

import (
	"context"
	"log/slog"

	"bitqueue/internal/input"
	"bitqueue/internal/rdb"
	"bitqueue/internal/redisconn"
	"bitqueue/internal/runs"
)

// redisSetup returns c's Redis and logging settings with a connection pool
// of at least poolSize.
func (c config) redisSetup(poolSize int) redisconn.Setup {
	return redisconn.Setup{URL: c.redisURL, URLFrom: c.redisFrom, Options: c.redisOpts, PoolSize: poolSize, Wait: c.redisWait, LogFormat: c.logFormat, LogLevel: c.logLevel, Prefix: c.prefix}
}

// service is the run service c's flags describe, on db.
func (c config) service(db *rdb.RDB, log *slog.Logger) (*runs.Service, error) {
	return runs.New(runs.Config{
		RDB:         db,
		MaxRetry:    c.maxRetry,
		TaskTimeout: c.taskTimeout,
		Retention:   c.retention,
		Concurrency: c.concurrency,
		RecordTTL:   c.recordTTL,
		RedisWait:   c.redisWait,
		LostAfter:   c.lostAfter,
		Logger:      log,
	})
}

// spec is the run c's flags describe, of total integers of src.
func (c config) spec(runID string, src input.Source, total uint64) runs.Spec {
	return runs.Spec{RunID: runID, Queue: c.queue, Shards: c.shards, BatchSize: c.batchSize, Source: src, Integers: total}
}

// logPlacement logs, on a Redis Cluster, which master holds each queue, and
// warns about masters that hold none, since they take no part in the run.
func logPlacement(ctx context.Context, db *rdb.RDB, queues []string, log *slog.Logger) {
	p, cluster, err := db.Place(ctx, queues)
	switch {
	case !cluster:
		return
	case err != nil:
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
