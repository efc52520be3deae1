package baseline

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"
)

// DefaultBarePoll is the idle poll interval of a bare server when none is
// given: the production worker's default.
const DefaultBarePoll = 25 * time.Millisecond

// ServeBare serves queue on the Redis at redisURL with asynq.NewServer in
// asynq's default configuration and EmptyHandler, until ctx is done. Only
// Queues and TaskCheckInterval are set: poll (DefaultBarePoll when 0), so
// that an idle server picks up a trial's first task as soon as the worker
// would. It logs msg=serving once the server has started, as the worker
// does, and returns once it has shut down.
func ServeBare(ctx context.Context, redisURL, queue string, poll time.Duration, log *slog.Logger) error {
	opt, err := asynq.ParseRedisURI(redisURL)
	if err != nil {
		return fmt.Errorf("--redis %q: %w", redisURL, err)
	}
	if poll <= 0 {
		poll = DefaultBarePoll
	}
	start := time.Now()
	srv := asynq.NewServer(opt, asynq.Config{Queues: map[string]int{queue: 1}, TaskCheckInterval: poll})
	if err := srv.Start(EmptyHandler()); err != nil {
		return fmt.Errorf("bare asynq server: %w", err)
	}
	log.Info("serving", "queues", []string{queue}, "ready_after", time.Since(start).Round(time.Microsecond))
	<-ctx.Done()
	srv.Shutdown()
	return nil
}
