package runs

import (
	"errors"
	"fmt"
)

// ErrOutOfMemory is matched (errors.Is) by the *OutOfMemoryError Enqueue
// returns when Redis refuses writes because it reached maxmemory under the
// noeviction policy.
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

// errOutOfMemory carries the Redis reply that stopped Enqueue.
type errOutOfMemory struct{ err error }

func (e errOutOfMemory) Error() string { return e.err.Error() }
