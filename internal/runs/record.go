package runs

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"bitqueue/internal/base"
)

// Record is what Redis keeps about a run, in a hash at base.RecordKey: its
// fingerprint, created once by the run's first producer, and the times of
// its first and latest enqueue. The run can be inspected (status), repaired
// (requeue), read (results), listed and deleted from it, without its input.
type Record struct {
	RunID     string
	Queue     string    // queue the batches were enqueued on (the base queue, with Shards)
	Shards    int       // the run's batches are spread over this many queues (see base.Queues)
	Batches   int       // batches 0..Batches-1 make up the run
	Integers  uint64    // integers in the run
	BatchSize int       // integers per batch, the last one excepted
	Input     string    // the input's identity (input.Source.Identity); empty in records written before it was kept
	State     string    // "" for a live run, StateDeleted for a tombstone
	Created   time.Time // first enqueue of the run
	Updated   time.Time // latest enqueue of the run
}

// StateDeleted is the State of a deleted run's record: a tombstone that keeps
// the run id bound to its fingerprint until it expires.
const StateDeleted = "deleted"

// Fingerprint returns what the run id of r is bound to.
func (r Record) Fingerprint() Fingerprint {
	return Fingerprint{Queue: r.Queue, Shards: max(r.Shards, 1), BatchSize: r.BatchSize, Integers: r.Integers, Input: r.Input}
}

// Fields of a run record hash.
const (
	recVersion   = "v"
	recQueue     = "queue"
	recShards    = "shards"
	recBatches   = "batches"
	recIntegers  = "integers"
	recBatchSize = "batch_size"
	recInput     = "input"
	recState     = "state"
	recCreated   = "created"
	recUpdated   = "updated"
)

// ErrUnknownRun is returned by LoadRecord for a run without a record.
var ErrUnknownRun = errors.New("unknown run")

func fields(r Record) []any {
	f := []any{
		recVersion, 1,
		recQueue, r.Queue,
		recShards, max(r.Shards, 1),
		recBatches, r.Batches,
		recIntegers, strconv.FormatUint(r.Integers, 10),
		recBatchSize, r.BatchSize,
		recInput, r.Input,
		recCreated, r.Created.UTC().Format(time.RFC3339Nano),
		recUpdated, r.Updated.UTC().Format(time.RFC3339Nano),
	}
	if r.State != "" {
		f = append(f, recState, r.State)
	}
	return f
}

// SaveRecord writes r under prefix, replacing the record of the run, and
// sets it to expire after ttl (base.DefaultTTL when ttl is not positive),
// in one atomic step. Producers do not call it: they create the record once
// with CreateRecord.
func SaveRecord(ctx context.Context, c redis.UniversalClient, prefix string, r Record, ttl time.Duration) error {
	key := base.RecordKey(prefix, r.RunID)
	_, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, key)
		p.HSet(ctx, key, fields(r)...)
		p.PExpire(ctx, key, cmp.Or(max(ttl, 0), base.DefaultTTL))
		return nil
	})
	if err != nil {
		return fmt.Errorf("save run record %s: %w", key, err)
	}
	return nil
}

// LoadRecord reads the record of runID under prefix; its error wraps
// ErrUnknownRun when there is none (the run was never enqueued, or its record
// expired). A tombstone is returned like a live record, with State set.
func LoadRecord(ctx context.Context, c redis.UniversalClient, prefix, runID string) (Record, error) {
	key := base.RecordKey(prefix, runID)
	h, err := c.HGetAll(ctx, key).Result()
	if err != nil {
		return Record{}, fmt.Errorf("read run record %s: %w", key, err)
	}
	if len(h) == 0 {
		return Record{}, fmt.Errorf("run %q: %w: no record at %s (never enqueued under prefix %q, or expired)", runID, ErrUnknownRun, key, prefix)
	}
	return parseRecord(key, runID, h)
}

func parseRecord(key, runID string, h map[string]string) (Record, error) {
	r := Record{RunID: runID, Queue: h[recQueue], Input: h[recInput], State: h[recState]}
	bad := func(field string, err error) error {
		return fmt.Errorf("run record %s: field %s=%q: %v", key, field, h[field], err)
	}
	var err error
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
	if r.State != "" && r.State != StateDeleted {
		return Record{}, bad(recState, fmt.Errorf("want empty or %q", StateDeleted))
	}
	return r, nil
}

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

// CreateRecord creates the record of r's run under prefix, atomically, when
// the run has none, with ttl (base.DefaultTTL when not positive), and adds
// the run to the index of runs (base.RunsKey, scored by its creation time
// in Unix milliseconds). When the run has a record already, its fingerprint
// must be r's: then CreateRecord refreshes its updated time and TTL and
// returns it; otherwise it returns a *MismatchError naming the first field
// that differs, or a *DeletedError for a tombstone, and writes nothing.
func CreateRecord(ctx context.Context, c redis.UniversalClient, prefix string, r Record, ttl time.Duration) (Record, error) {
	r, _, err := createRecord(ctx, c, prefix, r, ttl)
	return r, err
}

// createRecord is CreateRecord, also reporting whether it created the
// record: the run id was free (never used, or its record expired).
func createRecord(ctx context.Context, c redis.UniversalClient, prefix string, r Record, ttl time.Duration) (_ Record, created bool, _ error) {
	key := base.RecordKey(prefix, r.RunID)
	ttl = cmp.Or(max(ttl, 0), base.DefaultTTL)
	args := append([]any{ttl.Milliseconds()}, fields(Record{
		RunID: r.RunID, Queue: r.Queue, Shards: r.Shards, Batches: r.Batches, Integers: r.Integers,
		BatchSize: r.BatchSize, Input: r.Input, Created: r.Created, Updated: r.Updated,
	})...)
	res, err := createScript.Run(ctx, c, []string{key}, args...).StringSlice()
	switch {
	case errors.Is(err, redis.Nil):
		r.State, created = "", true
	case err != nil:
		return Record{}, false, fmt.Errorf("create run record %s: %w", key, err)
	default:
		h := make(map[string]string, len(res)/2)
		for i := 0; i+1 < len(res); i += 2 {
			h[res[i]] = res[i+1]
		}
		have, err := parseRecord(key, r.RunID, h)
		if err != nil {
			return Record{}, false, err
		}
		if have.State == StateDeleted {
			return Record{}, false, &DeletedError{RunID: r.RunID}
		}
		if err := have.Fingerprint().Compare(r.RunID, r.Fingerprint()); err != nil {
			return Record{}, false, err
		}
		have.Updated = r.Updated
		_, err = c.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.HSet(ctx, key, recUpdated, r.Updated.UTC().Format(time.RFC3339Nano))
			p.PExpire(ctx, key, ttl)
			return nil
		})
		if err != nil {
			return Record{}, false, fmt.Errorf("refresh run record %s: %w", key, err)
		}
		r = have
	}
	// The index may sit on another cluster slot: a separate command, repeated
	// by every producer of the run, so that a lost one is made good.
	err = c.ZAddNX(ctx, base.RunsKey(prefix), redis.Z{Score: float64(r.Created.UnixMilli()), Member: r.RunID}).Err()
	if err != nil {
		return Record{}, false, fmt.Errorf("index run %s in %s: %w", r.RunID, base.RunsKey(prefix), err)
	}
	return r, created, nil
}
