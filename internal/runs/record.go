package runs

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"bitqueue/internal/layout"
	"bitqueue/internal/results"
)

// RecordKey returns the key of a run's record (layout.RecordKey).
func RecordKey(prefix, runID string) string { return layout.RecordKey(prefix, runID) }

// Record is what the producer keeps about a run, in a Redis hash at
// RecordKey, so that the run can be inspected (status) and repaired
// (requeue) without its input.
type Record struct {
	RunID     string
	Queue     string    // queue the batches were enqueued on (the base queue, with Shards)
	Shards    int       // the run's batches are spread over this many queues (see shard.Queues)
	Batches   int       // batches 0..Batches-1 make up the run
	Integers  uint64    // integers in the run
	BatchSize int       // integers per batch, the last one excepted
	Created   time.Time // first enqueue of the run
	Updated   time.Time // latest enqueue of the run
}

// Fields of a run record hash.
const (
	recVersion   = "v"
	recQueue     = "queue"
	recShards    = "shards"
	recBatches   = "batches"
	recIntegers  = "integers"
	recBatchSize = "batch_size"
	recCreated   = "created"
	recUpdated   = "updated"
)

// ErrUnknownRun is returned by LoadRecord for a run without a record.
var ErrUnknownRun = errors.New("unknown run")

// SaveRecord writes r under prefix, keeping the Created time of an earlier
// record of the run, and sets the record to expire after ttl (the results'
// default TTL when ttl is not positive), in one atomic step.
func SaveRecord(ctx context.Context, c redis.UniversalClient, prefix string, r Record, ttl time.Duration) error {
	if ttl <= 0 {
		ttl = results.DefaultTTL
	}
	key := RecordKey(prefix, r.RunID)
	_, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, key,
			recVersion, 1,
			recQueue, r.Queue,
			recShards, max(r.Shards, 1),
			recBatches, r.Batches,
			recIntegers, strconv.FormatUint(r.Integers, 10),
			recBatchSize, r.BatchSize,
			recUpdated, r.Updated.UTC().Format(time.RFC3339Nano))
		p.HSetNX(ctx, key, recCreated, r.Created.UTC().Format(time.RFC3339Nano))
		p.PExpire(ctx, key, ttl)
		return nil
	})
	if err != nil {
		return fmt.Errorf("save run record %s: %w", key, err)
	}
	return nil
}

// LoadRecord reads the record of runID under prefix; its error wraps
// ErrUnknownRun when there is none (the run was never enqueued, or its record
// expired).
func LoadRecord(ctx context.Context, c redis.UniversalClient, prefix, runID string) (Record, error) {
	key := RecordKey(prefix, runID)
	h, err := c.HGetAll(ctx, key).Result()
	if err != nil {
		return Record{}, fmt.Errorf("read run record %s: %w", key, err)
	}
	if len(h) == 0 {
		return Record{}, fmt.Errorf("run %q: %w: no record at %s (never enqueued under prefix %q, or expired)", runID, ErrUnknownRun, key, prefix)
	}
	r := Record{RunID: runID, Queue: h[recQueue]}
	bad := func(field string, err error) error {
		return fmt.Errorf("run record %s: field %s=%q: %v", key, field, h[field], err)
	}
	if r.Batches, err = strconv.Atoi(h[recBatches]); err != nil || r.Batches < 1 {
		return Record{}, bad(recBatches, cmp.Or(err, errors.New("not positive")))
	}
	if r.Integers, err = strconv.ParseUint(h[recIntegers], 10, 64); err != nil {
		return Record{}, bad(recIntegers, err)
	}
	if r.BatchSize, err = strconv.Atoi(h[recBatchSize]); err != nil {
		return Record{}, bad(recBatchSize, err)
	}
	if r.Shards, err = strconv.Atoi(h[recShards]); err != nil || r.Shards < 1 {
		return Record{}, bad(recShards, cmp.Or(err, errors.New("not positive")))
	}
	if r.Created, err = time.Parse(time.RFC3339Nano, h[recCreated]); err != nil {
		return Record{}, bad(recCreated, err)
	}
	if r.Updated, err = time.Parse(time.RFC3339Nano, h[recUpdated]); err != nil {
		return Record{}, bad(recUpdated, err)
	}
	if r.Queue == "" {
		return Record{}, bad(recQueue, errors.New("empty"))
	}
	return r, nil
}

// saveRecord writes the record of a run about to be enqueued by p.
func (p *Producer) saveRecord(ctx context.Context, runID string, total uint64, batches int) error {
	prefix := p.Store.Prefix
	if prefix == "" {
		prefix = results.DefaultPrefix
	}
	now := time.Now()
	return SaveRecord(ctx, p.Store.Client, prefix, Record{
		RunID: runID, Queue: p.Queue, Shards: max(p.Shards, 1), Batches: batches, Integers: total, BatchSize: p.BatchSize,
		Created: now, Updated: now,
	}, p.RecordTTL)
}
