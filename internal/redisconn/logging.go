package redisconn

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/redis/go-redis/v9"
)

// routeRedisLogs sends go-redis's own log lines, which it otherwise prints to
// stderr in a format of its own, to log at debug level with
// component=go-redis, so that every line a command writes is in its
// --log-format. They are mostly connection-pool dial failures, which the
// commands already report themselves while Redis is unreachable. go-redis
// keeps one logger per process: a command calls this once, from its run.
func routeRedisLogs(log *slog.Logger) {
	redis.SetLogger(redisLogger{log})
}

type redisLogger struct{ l *slog.Logger }

func (r redisLogger) Printf(ctx context.Context, format string, v ...any) {
	r.l.Log(ctx, slog.LevelDebug, strings.TrimSpace(fmt.Sprintf(format, v...)), "component", "go-redis")
}
