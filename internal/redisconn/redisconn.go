// Package redisconn opens Redis connections from URLs and waits for Redis to
// answer, without ever showing a password in a log or an error.
package redisconn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// DefaultURL is used when neither --redis nor REDIS_URL is given.
const DefaultURL = "redis://127.0.0.1:6379/0"

// Open returns a client for rawURL: redis://[user:password@]host:port/db,
// rediss:// for TLS (go-redis URL options such as ?pool_size= are honoured),
// or redis-sentinel:// as asynq.ParseRedisURI reads it. poolSize, when
// positive, raises the connection pool to at least that size. Open does not
// contact Redis; see Wait.
func Open(rawURL string, poolSize int) (redis.UniversalClient, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("redis URL %s: %v", Redact(rawURL), err)
	}
	switch u.Scheme {
	case "redis", "rediss":
		opt, err := redis.ParseURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("redis URL %s: %v", Redact(rawURL), redactErr(err, rawURL))
		}
		opt.PoolSize = max(opt.PoolSize, poolSize)
		return redis.NewClient(opt), nil
	case "redis-sentinel":
		opt, err := asynq.ParseRedisURI(rawURL)
		if err != nil {
			return nil, fmt.Errorf("redis URL %s: %v", Redact(rawURL), redactErr(err, rawURL))
		}
		fo := opt.(asynq.RedisFailoverClientOpt)
		fo.PoolSize = max(fo.PoolSize, poolSize)
		return fo.MakeRedisClient().(redis.UniversalClient), nil
	default:
		return nil, fmt.Errorf("redis URL %s: scheme %q, want redis, rediss or redis-sentinel", Redact(rawURL), u.Scheme)
	}
}

// Redact returns rawURL with any password replaced by "xxxxx". A URL that does
// not parse is replaced whole, since its password cannot be located.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "<unparsable URL>"
	}
	return u.Redacted()
}

func redactErr(err error, rawURL string) error {
	u, perr := url.Parse(rawURL)
	if perr != nil {
		return errors.New("invalid URL")
	}
	if p, ok := u.User.Password(); ok && p != "" {
		return errors.New(strings.ReplaceAll(err.Error(), p, "xxxxx"))
	}
	return err
}

// Wait pings client until it answers, backing off from 100 ms to 2 s between
// attempts, for at most maxWait. It logs one line per failed attempt and
// returns an error naming the redacted URL when Redis never answers.
func Wait(ctx context.Context, client redis.UniversalClient, rawURL string, maxWait time.Duration, log *slog.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, maxWait)
	defer cancel()
	start := time.Now()
	delay := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := client.Ping(ctx).Err()
		if err == nil {
			if attempt > 1 {
				log.Info("redis reachable", "redis", Redact(rawURL), "waited", time.Since(start).Round(time.Millisecond))
			}
			return nil
		}
		log.Warn("redis not reachable yet; retrying", "redis", Redact(rawURL), "attempt", attempt, "retry_in", delay, "err", redactErr(err, rawURL))
		select {
		case <-ctx.Done():
			return fmt.Errorf("redis at %s did not answer within %s: %v", Redact(rawURL), maxWait, redactErr(err, rawURL))
		case <-time.After(delay):
		}
		delay = min(2*delay, 2*time.Second)
	}
}
