package base

import (
	"cmp"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Record is what Redis keeps about a run, in a hash at RecordKey: what the
// run's id is bound to (its queue, shards, batch size, integers and input,
// written once by the run's first producer), when it was created and last
// enqueued, and whether it was deleted. Its hash fields are a contract
// (see "Run records" in docs/contracts.md); its JSON names, those of the
// producer's status and list output, are the same.
type Record struct {
	RunID     string    `json:"run_id"`
	Queue     string    `json:"queue"`      // the queue the batches went to (with Shards, the base of its shards' names)
	Shards    int       `json:"shards"`     // the batches are spread over Queues(Queue, Shards)
	Batches   int       `json:"batches"`    // batches 0..Batches-1 make up the run
	Integers  uint64    `json:"integers"`   // integers in the run
	BatchSize int       `json:"batch_size"` // integers per batch, the last one excepted
	Input     string    `json:"input"`      // the input's identity (random seed=S max=M count=N, or sha256:<hex>)
	Deleted   bool      `json:"-"`          // a tombstone: the run was deleted and its id is refused while this lives
	Clearing  bool      `json:"-"`          // its first producer is still clearing what an earlier run of the id left: nothing may be enqueued yet
	Created   time.Time `json:"created"`    // first enqueue of the run
	Updated   time.Time `json:"updated"`    // latest enqueue of the run
}

// Fields of a run record hash, and the values they take.
const (
	RecordFieldVersion   = "v"
	RecordFieldQueue     = "queue"
	RecordFieldShards    = "shards"
	RecordFieldBatches   = "batches"
	RecordFieldIntegers  = "integers"
	RecordFieldBatchSize = "batch_size"
	RecordFieldInput     = "input"
	RecordFieldState     = "state"
	RecordFieldCreated   = "created"
	RecordFieldUpdated   = "updated"

	RecordVersion = 1
	// StateDeleted is the value of a tombstone's state field; a live run's
	// record has no state field once its first producer has cleared what an
	// earlier run of the id left, and StateClearing until then.
	StateDeleted  = "deleted"
	StateClearing = "clearing"
)

// Fields returns r as HSET's field-value arguments.
func (r Record) Fields() []any {
	f := []any{
		RecordFieldVersion, RecordVersion,
		RecordFieldQueue, r.Queue,
		RecordFieldShards, max(r.Shards, 1),
		RecordFieldBatches, r.Batches,
		RecordFieldIntegers, strconv.FormatUint(r.Integers, 10),
		RecordFieldBatchSize, r.BatchSize,
		RecordFieldInput, r.Input,
		RecordFieldCreated, FormatTime(r.Created),
		RecordFieldUpdated, FormatTime(r.Updated),
	}
	switch {
	case r.Deleted:
		f = append(f, RecordFieldState, StateDeleted)
	case r.Clearing:
		f = append(f, RecordFieldState, StateClearing)
	}
	return f
}

// FormatTime is how a record holds a time: RFC 3339 in UTC, with
// nanoseconds.
func FormatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// ParseRecord reads the record of runID from its hash h, as HGETALL returns
// it from key; every error names the key and the field.
func ParseRecord(key, runID string, h map[string]string) (Record, error) {
	r := Record{RunID: runID, Queue: h[RecordFieldQueue], Input: h[RecordFieldInput]}
	bad := func(field string, err error) error {
		return fmt.Errorf("run record %s: field %s=%q: %v", key, field, h[field], err)
	}
	var err error
	if r.Batches, err = strconv.Atoi(h[RecordFieldBatches]); err != nil || r.Batches < 1 {
		return Record{}, bad(RecordFieldBatches, cmp.Or(err, errors.New("not positive")))
	}
	if r.Integers, err = strconv.ParseUint(h[RecordFieldIntegers], 10, 64); err != nil {
		return Record{}, bad(RecordFieldIntegers, err)
	}
	if r.BatchSize, err = strconv.Atoi(h[RecordFieldBatchSize]); err != nil {
		return Record{}, bad(RecordFieldBatchSize, err)
	}
	if r.Shards, err = strconv.Atoi(h[RecordFieldShards]); err != nil || r.Shards < 1 {
		return Record{}, bad(RecordFieldShards, cmp.Or(err, errors.New("not positive")))
	}
	if r.Created, err = time.Parse(time.RFC3339Nano, h[RecordFieldCreated]); err != nil {
		return Record{}, bad(RecordFieldCreated, err)
	}
	if r.Updated, err = time.Parse(time.RFC3339Nano, h[RecordFieldUpdated]); err != nil {
		return Record{}, bad(RecordFieldUpdated, err)
	}
	if r.Queue == "" {
		return Record{}, bad(RecordFieldQueue, errors.New("empty"))
	}
	switch h[RecordFieldState] {
	case "":
	case StateDeleted:
		r.Deleted = true
	case StateClearing:
		r.Clearing = true
	default:
		return Record{}, bad(RecordFieldState, fmt.Errorf("want empty, %q or %q", StateDeleted, StateClearing))
	}
	return r, nil
}
