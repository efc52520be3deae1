package rdb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"bitqueue/internal/base"
)

// createScript creates a run's record when the key is absent (HSET of every
// field and PEXPIRE, ARGV[1] being the TTL in ms and the rest the fields),
// and returns the record that is there afterwards: nil when it created it,
// the existing hash otherwise. It touches one key, so it is cluster-safe.
var createScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.call('HGETALL', KEYS[1])
end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return false
`)

// CreateRecord creates rec's record, expiring after ttl, when the run has
// none, in one atomic step on that one key, and returns the record that is
// there afterwards and whether it created it: rec itself, or the record an
// earlier producer of the run created, left as it was.
func (r *RDB) CreateRecord(ctx context.Context, rec base.Record, ttl time.Duration) (base.Record, bool, error) {
	key := base.RecordKey(r.prefix, rec.RunID)
	rec.Deleted = false
	res, err := createScript.Run(ctx, r.client, []string{key}, append([]any{ttl.Milliseconds()}, rec.Fields()...)...).StringSlice()
	switch {
	case errors.Is(err, redis.Nil):
		return rec, true, nil
	case err != nil:
		return base.Record{}, false, fmt.Errorf("create run record %s: %w", key, err)
	}
	h := make(map[string]string, len(res)/2)
	for i := 0; i+1 < len(res); i += 2 {
		h[res[i]] = res[i+1]
	}
	have, err := base.ParseRecord(key, rec.RunID, h)
	return have, false, err
}

// clearedScript removes the clearing state of a run's record (KEYS[1]),
// unless the record is gone or is a tombstone by now.
var clearedScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
`)

// ClearedRecord ends the clearing state its first producer created the
// run's record in (base.StateClearing): what an earlier run of the id left
// is gone, and batches may be enqueued. A record deleted meanwhile stays a
// tombstone.
func (r *RDB) ClearedRecord(ctx context.Context, runID string) error {
	key := base.RecordKey(r.prefix, runID)
	if err := clearedScript.Run(ctx, r.client, []string{key}, base.RecordFieldState, base.StateClearing).Err(); err != nil {
		return fmt.Errorf("end the clearing of run record %s: %w", key, err)
	}
	return nil
}

// TouchRecord sets the updated time of the run's record and its TTL, in one
// transaction: a producer of the run went through again.
func (r *RDB) TouchRecord(ctx context.Context, runID string, updated time.Time, ttl time.Duration) error {
	key := base.RecordKey(r.prefix, runID)
	_, err := r.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, key, base.RecordFieldUpdated, base.FormatTime(updated))
		p.PExpire(ctx, key, ttl)
		return nil
	})
	if err != nil {
		return fmt.Errorf("refresh run record %s: %w", key, err)
	}
	return nil
}

// IndexRun adds the run to the index of runs (base.RunsKey), scored by its
// creation time in Unix milliseconds, unless it is there. The index may sit
// on another cluster slot than the record: every producer of a run repeats
// this, so that a lost one is made good.
func (r *RDB) IndexRun(ctx context.Context, runID string, created time.Time) error {
	err := r.client.ZAddNX(ctx, base.RunsKey(r.prefix), redis.Z{Score: float64(created.UnixMilli()), Member: runID}).Err()
	if err != nil {
		return fmt.Errorf("index run %s in %s: %w", runID, base.RunsKey(r.prefix), err)
	}
	return nil
}

// LoadRecord reads the record of runID, and false when it has none (never
// created under this prefix, or expired). A tombstone is returned like a
// live record, with Deleted set.
func (r *RDB) LoadRecord(ctx context.Context, runID string) (base.Record, bool, error) {
	key := base.RecordKey(r.prefix, runID)
	h, err := r.client.HGetAll(ctx, key).Result()
	if err != nil {
		return base.Record{}, false, fmt.Errorf("read run record %s: %w", key, err)
	}
	if len(h) == 0 {
		return base.Record{}, false, nil
	}
	rec, err := base.ParseRecord(key, runID, h)
	return rec, err == nil, err
}

// Tombstone turns the run's record into a tombstone — state deleted,
// updated at, every other field kept — expiring after ttl, in one
// transaction.
func (r *RDB) Tombstone(ctx context.Context, runID string, at time.Time, ttl time.Duration) error {
	key := base.RecordKey(r.prefix, runID)
	_, err := r.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, key, base.RecordFieldState, base.StateDeleted, base.RecordFieldUpdated, base.FormatTime(at))
		p.PExpire(ctx, key, ttl)
		return nil
	})
	if err != nil {
		return fmt.Errorf("mark run %s deleted in %s: %w", runID, key, err)
	}
	return nil
}

// RecordState reads whether the run has a record and whether it is a
// tombstone: one HMGET.
func (r *RDB) RecordState(ctx context.Context, runID string) (exists, deleted bool, err error) {
	vals, err := r.client.HMGet(ctx, base.RecordKey(r.prefix, runID), base.RecordFieldVersion, base.RecordFieldState).Result()
	if err != nil {
		return false, false, err
	}
	return vals[0] != nil, vals[1] == base.StateDeleted, nil
}

// Listed is a run of the index, as ListRuns finds it.
type Listed struct {
	base.Record
	Done int // batches marked done
}

// ListRuns returns the runs in the index of runs, newest first, with their
// records and done counts: two round trips whatever the number of runs (the
// index, then the records and counts pipelined). It removes from the index
// the runs whose record expired.
func (r *RDB) ListRuns(ctx context.Context) ([]Listed, error) {
	index := base.RunsKey(r.prefix)
	ids, err := r.client.ZRevRange(ctx, index, 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", index, err)
	}
	recs := make([]*redis.MapStringStringCmd, len(ids))
	counts := make([]*redis.IntCmd, len(ids))
	if _, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			recs[i] = p.HGetAll(ctx, base.RecordKey(r.prefix, id))
			counts[i] = p.BitCount(ctx, base.DoneKey(r.prefix, id), nil)
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read run records and done counts: %w", err)
	}
	var out []Listed
	var expired []any
	for i, id := range ids {
		h := recs[i].Val()
		if len(h) == 0 {
			expired = append(expired, id)
			continue
		}
		rec, err := base.ParseRecord(base.RecordKey(r.prefix, id), id, h)
		if err != nil {
			return nil, err
		}
		out = append(out, Listed{Record: rec, Done: int(counts[i].Val())})
	}
	if len(expired) > 0 {
		if err := r.client.ZRem(ctx, index, expired...).Err(); err != nil {
			return nil, fmt.Errorf("prune %s: %w", index, err)
		}
	}
	return out, nil
}

// TickMarked reports whether the scheduled tick named by runID is marked
// produced (base.TickKey).
func (r *RDB) TickMarked(ctx context.Context, runID string) (bool, error) {
	n, err := r.client.Exists(ctx, base.TickKey(r.prefix, runID)).Result()
	return n > 0, err
}

// MarkTick marks the scheduled tick named by runID produced at at, the mark
// kept for ttl (at least a millisecond).
func (r *RDB) MarkTick(ctx context.Context, runID string, at time.Time, ttl time.Duration) error {
	return r.client.Set(ctx, base.TickKey(r.prefix, runID), at.UTC().Format(time.RFC3339), max(ttl, time.Millisecond)).Err()
}
