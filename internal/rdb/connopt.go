package rdb

import (
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// ConnOpt returns an asynq.RedisConnOpt whose MakeRedisClient returns r's
// own client, for a library that takes a RedisConnOpt where it could take a
// client (asynqmon): it then sends its commands through r's connections,
// with r's URL, credentials and TLS, rather than opening its own. Whatever
// it builds on the client must not be closed by it: closing that closes r's
// client, which r's opener closes once, at the end.
func (r *RDB) ConnOpt() asynq.RedisConnOpt { return connOpt{r.client} }

// connOpt is the RedisConnOpt of an open client.
type connOpt struct{ client redis.UniversalClient }

// MakeRedisClient returns the client itself, as its concrete type (a
// *redis.Client, or a *redis.ClusterClient), which asynqmon looks at to
// read Redis's INFO.
func (o connOpt) MakeRedisClient() any { return o.client }
