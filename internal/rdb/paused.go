package rdb

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	"bitqueue/internal/base"
)

// PausedQueues returns those of queues that are paused (`asynq queue pause`,
// asynqmon's pause button, Inspector.PauseQueue), in the order of queues:
// one EXISTS of asynq's pause mark per queue, in one pipeline. It reads the
// mark itself rather than asynq's queue info, so that a queue removed while
// paused (`asynq queue remove`, which leaves the mark) is still seen paused:
// batches enqueued on it again would wait.
func (r *RDB) PausedQueues(ctx context.Context, queues []string) ([]string, error) {
	if len(queues) == 0 {
		return nil, nil
	}
	cmds := make([]*redis.IntCmd, len(queues))
	_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, q := range queues {
			cmds[i] = p.Exists(ctx, base.AsynqQueueKey(q, "paused"))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read which queues are paused: %w", err)
	}
	var paused []string
	for i, c := range cmds {
		if c.Val() > 0 {
			paused = append(paused, queues[i])
		}
	}
	return paused, nil
}
