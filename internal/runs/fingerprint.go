package runs

import (
	"fmt"
	"strconv"
)

// Fingerprint is what a run id is bound to: a run's record holds it from the
// first enqueue of the run, and a later producer of the run must give the
// same one, or it enqueues nothing.
type Fingerprint struct {
	Queue     string
	Shards    int
	BatchSize int
	Integers  uint64
	Input     string // input.Source.Identity of the integers
}

// Compare returns nil when given equals f, the recorded fingerprint of runID,
// and otherwise a *MismatchError naming the first field that differs, in the
// order input, integers, batch_size, shards, queue.
func (f Fingerprint) Compare(runID string, given Fingerprint) error {
	for _, d := range []struct{ field, recorded, given string }{
		{recInput, f.Input, given.Input},
		{recIntegers, strconv.FormatUint(f.Integers, 10), strconv.FormatUint(given.Integers, 10)},
		{recBatchSize, strconv.Itoa(f.BatchSize), strconv.Itoa(given.BatchSize)},
		{recShards, strconv.Itoa(max(f.Shards, 1)), strconv.Itoa(max(given.Shards, 1))},
		{recQueue, f.Queue, given.Queue},
	} {
		if d.recorded != d.given {
			return &MismatchError{RunID: runID, Field: d.field, Recorded: d.recorded, Given: d.given}
		}
	}
	return nil
}

// MismatchError is returned when a run id is given again with another
// fingerprint: Field (a record field: input, integers, batch_size, shards or
// queue) was Recorded by the run's first producer and is Given now.
// Nothing was enqueued.
type MismatchError struct {
	RunID, Field, Recorded, Given string
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("run %s is bound to %s=%q, not %q: nothing enqueued", e.RunID, e.Field, e.Recorded, e.Given)
}

// DeletedError is returned when a run id names a deleted run whose tombstone
// still lives: its tasks, results and done marks were removed, nothing of it
// can be enqueued, waited for or read, and its id is refused until the
// tombstone expires.
type DeletedError struct {
	RunID string
	// While says what was under way when the run was found deleted ("being
	// enqueued", "waited for"); empty when it was deleted before.
	While string
}

func (e *DeletedError) Error() string {
	when := ""
	if e.While != "" {
		when = " while it was " + e.While
	}
	return fmt.Sprintf("run %s was deleted (producer delete)%s: its batches and results are gone, and its id is refused while its tombstone lives", e.RunID, when)
}

// GoneError is returned when a run's record is gone from Redis while the
// run is being waited for: it expired (--record-ttl), or Redis lost its data
// (a restart without persistence). Without it, the run's batches cannot be
// told apart: a producer run again with the run's id and input enqueues
// what is missing.
type GoneError struct{ RunID string }

func (e *GoneError) Error() string {
	return fmt.Sprintf("run %s has no record in Redis any more: it expired (--record-ttl), or Redis lost its data (restarted without persistence?)", e.RunID)
}
