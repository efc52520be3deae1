package runs

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"bitqueue/internal/base"
	"bitqueue/internal/results"
)

// Run states as List reports them.
const (
	RunDone    = "done"    // every batch is marked done
	RunRunning = "running" // some batch is not done yet (queued, failed or lost: see GetStatus)
	RunDeleted = "deleted" // a tombstone: the run was deleted
)

// RunInfo is one run of the index of runs.
type RunInfo struct {
	Record
	Done  int    // batches marked done
	Phase string // RunDone, RunRunning or RunDeleted
}

// List returns the runs in the index of runs under store's prefix
// (base.RunsKey), newest first, with their done counts: three pipelined
// round trips whatever the number of runs (the index, the records, the
// counts). It removes from the index the runs whose record expired.
func List(ctx context.Context, store *results.Store) ([]RunInfo, error) {
	c, prefix := store.Client, store.Root()
	ids, err := c.ZRevRange(ctx, base.RunsKey(prefix), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", base.RunsKey(prefix), err)
	}
	recs := make([]*redis.MapStringStringCmd, len(ids))
	counts := make([]*redis.IntCmd, len(ids))
	if _, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			recs[i] = p.HGetAll(ctx, base.RecordKey(prefix, id))
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read run records: %w", err)
	}
	if _, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			counts[i] = p.BitCount(ctx, base.DoneKey(prefix, id), nil)
		}
		return nil
	}); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("count done batches: %w", err)
	}
	var out []RunInfo
	var expired []any
	for i, id := range ids {
		h := recs[i].Val()
		if len(h) == 0 {
			expired = append(expired, id)
			continue
		}
		rec, err := parseRecord(base.RecordKey(prefix, id), id, h)
		if err != nil {
			return nil, err
		}
		ri := RunInfo{Record: rec, Done: int(counts[i].Val()), Phase: RunRunning}
		switch {
		case rec.State == StateDeleted:
			ri.Phase = RunDeleted
		case ri.Done >= rec.Batches:
			ri.Phase = RunDone
		}
		out = append(out, ri)
	}
	if len(expired) > 0 {
		if err := c.ZRem(ctx, base.RunsKey(prefix), expired...).Err(); err != nil {
			return nil, fmt.Errorf("prune %s: %w", base.RunsKey(prefix), err)
		}
	}
	return out, nil
}
