package runs_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/runs"
)

// TestOutOfMemoryError checks that the typed error still matches
// ErrOutOfMemory, carries its counts through wrapping and gives no advice
// of its own (the commands add it).
func TestOutOfMemoryError(t *testing.T) {
	t.Parallel()
	reply := errors.New("OOM command not allowed when used memory > 'maxmemory'.")
	err := fmt.Errorf("tick: %w", &runs.OutOfMemoryError{RunID: "r", Started: true, Batches: 4, Enqueued: 2, Queued: 1, Done: 1, Err: reply})
	require.ErrorIs(t, err, runs.ErrOutOfMemory)
	require.ErrorIs(t, err, reply)
	var oom *runs.OutOfMemoryError
	require.ErrorAs(t, err, &oom)
	require.Equal(t, 3, oom.Enqueued+oom.Queued)
	require.Equal(t, "tick: Redis is out of memory (maxmemory with noeviction): 3 of the 4 batches of run r are queued (2 by this run, 1 before) and stay queued, 1 have results (redis: OOM command not allowed when used memory > 'maxmemory'.)", err.Error())
	require.NotContains(t, err.Error(), "--run-id")
}
