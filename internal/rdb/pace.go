package rdb

import (
	"context"

	"github.com/redis/go-redis/v9"

	"bitqueue/internal/base"
)

// HookDequeues calls before and after around each of asynq's dequeue calls
// on one of queues, sent through r's client: asynq v0.26.0 offers no hook
// into its polling, and a poll is a call of its dequeue script, once per
// queue. before says whether the worker was idle and whether to go on;
// when it says not to, the call is not sent and the queue reported empty.
// after is told whether the call found a task.
func (r *RDB) HookDequeues(queues []string, before func() (idle, proceed bool), after func(idle, found bool)) {
	set := make(map[string]bool, len(queues))
	for _, q := range queues {
		set[q] = true
	}
	r.client.AddHook(dequeueHook{queues: set, before: before, after: after})
}

type dequeueHook struct {
	queues map[string]bool
	before func() (idle, proceed bool)
	after  func(idle, found bool)
}

func (dequeueHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (dequeueHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func (h dequeueHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if !h.isDequeue(cmd) {
			return next(ctx, cmd)
		}
		idle, proceed := h.before()
		if !proceed {
			cmd.SetErr(redis.Nil)
			return redis.Nil
		}
		err := next(ctx, cmd)
		h.after(idle, err == nil)
		return err
	}
}

// isDequeue reports whether cmd is asynq's dequeue script on one of the
// queues: EVALSHA or EVAL with the keys pending, paused, active and lease of
// one queue (base.AsynqQueueKey).
func (h dequeueHook) isDequeue(cmd redis.Cmder) bool {
	name := cmd.Name()
	if name != "evalsha" && name != "eval" {
		return false
	}
	args := cmd.Args()
	if len(args) < 7 {
		return false
	}
	if n, ok := args[2].(int); !ok || n != 4 {
		return false
	}
	pending, _ := args[3].(string)
	q, ok := base.AsynqQueueOf(pending, "pending")
	if !ok || !h.queues[q] {
		return false
	}
	for i, kind := range []string{"paused", "active", "lease"} {
		if k, _ := args[4+i].(string); k != base.AsynqQueueKey(q, kind) {
			return false
		}
	}
	return true
}
