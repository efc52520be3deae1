package peers

import (
	"context"
	"strings"

	"github.com/redis/go-redis/v9"

	"bitqueue/internal/base"
)

// keys names what one peer run writes to Redis: its results where bitqueue
// writes a run's results, and its own keys (Celery's broker keys, the count
// of ready worker processes) under <prefix>:peer:<run-id>:.
type keys struct {
	prefix, runID string
}

// resultBase is the result key of a batch without its seq: the peers append
// the seq, so the keys they write are base.ResultKey's.
func (k keys) resultBase() string {
	return strings.TrimSuffix(base.ResultKey(k.prefix, k.runID, 0), "0")
}

func (k keys) own() string { return k.prefix + ":peer:" + k.runID + ":" }

// celeryPrefix roots every key Celery's Redis transport writes.
func (k keys) celeryPrefix() string { return k.own() + "celery:" }

// ready counts the Celery worker's processes that have built their cache,
// and the worker itself once it consumes.
func (k keys) ready() string { return k.own() + "ready" }

// clean deletes the run's own keys and, unless keepResults, its results.
func (k keys) clean(ctx context.Context, c *redis.Client, keepResults bool) error {
	patterns := []string{k.own() + "*"}
	if !keepResults {
		patterns = append(patterns, k.resultBase()+"*")
	}
	for _, p := range patterns {
		iter := c.Scan(ctx, 0, p, 1000).Iterator()
		var batch []string
		for iter.Next(ctx) {
			if batch = append(batch, iter.Val()); len(batch) == 1000 {
				if err := c.Unlink(ctx, batch...).Err(); err != nil {
					return err
				}
				batch = batch[:0]
			}
		}
		if err := iter.Err(); err != nil {
			return err
		}
		if len(batch) > 0 {
			if err := c.Unlink(ctx, batch...).Err(); err != nil {
				return err
			}
		}
	}
	return nil
}
