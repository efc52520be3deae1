package runs

import (
	"errors"
	"fmt"
	"strings"
)

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
// run is being enqueued or waited for: it expired (--record-ttl), or Redis
// lost its data (a restart without persistence). Without it, the run's
// batches cannot be told apart: a producer run again with the run's id and
// input enqueues what is missing.
type GoneError struct{ RunID string }

func (e *GoneError) Error() string {
	return fmt.Sprintf("run %s has no record in Redis any more: it expired (--record-ttl), or Redis lost its data (restarted without persistence?)", e.RunID)
}

// StoppedError is returned by Enqueue when the run was deleted, or its
// record vanished, while it was being enqueued: it stopped, having done
// Stats.
type StoppedError struct {
	Err   error // a *DeletedError or a *GoneError
	Stats EnqueueStats
}

func (e *StoppedError) Error() string {
	return fmt.Sprintf("%v; enqueueing stopped after %d of %d batches", e.Err, e.Stats.Enqueued+e.Stats.Queued+e.Stats.Done, e.Stats.Batches)
}

func (e *StoppedError) Unwrap() error { return e.Err }

// FailedError reports batches that failed permanently (asynq archived them).
type FailedError struct {
	IDs    []string // task ids, "<run-id>:<seq>"
	Reason string   // the last error of the first of them
}

func (e *FailedError) Error() string {
	return fmt.Sprintf("%d batch(es) failed permanently: %s (last error: %s)", len(e.IDs), strings.Join(e.IDs, ", "), e.Reason)
}

// LostError reports batches of a run that nothing will ever finish: no
// result and no task to run (none in any asynq state, or one kept as
// completed whose result is gone).
type LostError struct {
	RunID string
	IDs   []string // task ids of the first MaxListed lost batches, by seq
	Count int      // lost batches in all
}

func (e *LostError) Error() string {
	s := fmt.Sprintf("run %s: %d batch(es) lost (no result and no task): %s", e.RunID, e.Count, strings.Join(e.IDs, ", "))
	if e.Count > len(e.IDs) {
		s += fmt.Sprintf(", … (%d more)", e.Count-len(e.IDs))
	}
	return s
}

// MisplacedError reports a run whose batches were done by workers that
// write their results under another key prefix than the producer's: nothing
// is lost, the producer looks in the wrong place.
type MisplacedError struct {
	RunID  string
	Prefix string // the producer's
	Found  string // where a result of the run was found
}

func (e *MisplacedError) Error() string {
	return fmt.Sprintf("run %s: no worker listens under prefix %s, and its results are under prefix %s: the workers run with --prefix %s", e.RunID, e.Prefix, e.Found, e.Found)
}

// InputNeededError is returned by Requeue for lost batches of a run of a
// file or stdin given no input: their integers are only in the run's input.
// The failed batches were sent back all the same.
type InputNeededError struct {
	RunID string
	Lost  int
}

func (e *InputNeededError) Error() string {
	return fmt.Sprintf("run %s: %d batch(es) lost and not enqueued again: their integers are only in the run's input", e.RunID, e.Lost)
}

// ErrOutOfMemory is matched (errors.Is) by the *OutOfMemoryError Enqueue
// returns when Redis refuses writes because it reached maxmemory under the
// noeviction policy.
//
//lint:ignore ST1005 the message starts with Redis's name, a proper noun
var ErrOutOfMemory = errors.New("Redis is out of memory (maxmemory with noeviction)")

// OutOfMemoryError is what Enqueue returns when Redis refuses a write for
// lack of memory: it stopped at once, and what it enqueued stays queued, so
// that the same run id enqueues the rest once memory is freed.
type OutOfMemoryError struct {
	RunID string
	// Started is false when Redis refused the run's record: nothing of the
	// run was enqueued.
	Started bool
	// Batches is the number of batches of the run; Enqueued those this
	// Enqueue sent, Queued those already queued before it, Done those
	// already holding a result.
	Batches, Enqueued, Queued, Done int
	// Err is Redis's reply.
	Err error
}

// State says what Redis holds of the run.
func (e *OutOfMemoryError) State() string {
	if !e.Started {
		return fmt.Sprintf("nothing of run %s was enqueued", e.RunID)
	}
	return fmt.Sprintf("%d of the %d batches of run %s are queued (%d by this run, %d before) and stay queued, %d have results",
		e.Enqueued+e.Queued, e.Batches, e.RunID, e.Enqueued, e.Queued, e.Done)
}

// Error returns ErrOutOfMemory's text, the run's State and Redis's reply.
func (e *OutOfMemoryError) Error() string {
	return fmt.Sprintf("%v: %s (redis: %v)", ErrOutOfMemory, e.State(), e.Err)
}

// Is reports whether target is ErrOutOfMemory.
func (e *OutOfMemoryError) Is(target error) bool { return target == ErrOutOfMemory }

// Unwrap returns Redis's reply.
func (e *OutOfMemoryError) Unwrap() error { return e.Err }
