package runs

import "errors"

// ErrOutOfMemory is wrapped by the error Enqueue returns when Redis refuses
// writes because it reached maxmemory under the noeviction policy.
var ErrOutOfMemory = errors.New("Redis is out of memory (maxmemory with noeviction)")

// errOutOfMemory carries the Redis reply that stopped Enqueue.
type errOutOfMemory struct{ err error }

func (e errOutOfMemory) Error() string { return e.err.Error() }
