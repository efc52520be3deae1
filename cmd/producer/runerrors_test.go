package main

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/cli"
	"bitqueue/internal/runs"
)

// TestRunError checks the exit code and advice the command gives each run
// error: a refused run id is a usage error (2) naming the flags to give, lost
// batches a failure (1) saying how requeue enqueues them again, with the
// run's input file when it has one.
func TestRunError(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		err   error
		input string // the run's --input
		code  int
		want  string
	}{
		{"mismatch", &runs.MismatchError{RunID: "r", Field: "batch_size", Recorded: "10", Given: "5"}, "", cli.ExitUsage,
			`run r is bound to batch_size="10", not "5": nothing enqueued; give the run's own --batch-size, or another --run-id`},
		{"deleted", fmt.Errorf("create: %w", &runs.DeletedError{RunID: "r"}), "", cli.ExitUsage, "run r was deleted"},
		{"lost, random", &runs.LostError{RunID: "r", IDs: []string{"r:2"}, Count: 1}, "", cli.ExitFailure,
			"run r: 1 batch(es) lost (no result and no task): r:2; `producer requeue --run-id r` enqueues them again"},
		{"lost, file", &runs.LostError{RunID: "r", IDs: []string{"r:2"}, Count: 1}, "numbers.txt", cli.ExitFailure,
			"run r: 1 batch(es) lost (no result and no task): r:2; `producer requeue --run-id r --input numbers.txt` enqueues them again"},
		{"lost, stdin", &runs.LostError{RunID: "r", IDs: []string{"r:2"}, Count: 1}, "-", cli.ExitFailure,
			"r:2; `producer requeue --run-id r --input FILE` enqueues them again, FILE holding the run's input"},
		{"out of memory", &runs.OutOfMemoryError{RunID: "r", Started: true, Batches: 10, Enqueued: 3, Queued: 2, Done: 1, Err: errors.New("OOM command not allowed")}, "", cli.ExitFailure,
			"Redis is out of memory (maxmemory with noeviction): 5 of the 10 batches of run r are queued (3 by this run, 2 before) and stay queued, 1 have results; free memory or raise maxmemory, then run again with --run-id r to enqueue the rest (redis: OOM command not allowed)"},
		{"out of memory before the record", &runs.OutOfMemoryError{RunID: "r", Batches: 10, Err: errors.New("OOM command not allowed")}, "", cli.ExitFailure,
			"Redis is out of memory (maxmemory with noeviction): nothing of run r was enqueued; free memory or raise maxmemory, then run again (redis: OOM command not allowed)"},
		{"other", errors.New("boom"), "", cli.ExitFailure, "boom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := runError(tc.err, tc.input)
			require.Equal(t, tc.code, cli.ExitCode(err))
			require.Contains(t, err.Error(), tc.want)
			require.True(t, errors.Is(err, tc.err), "the advice keeps the error it advises on")
		})
	}
}
