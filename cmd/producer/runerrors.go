package main

import (
	"errors"
	"fmt"

	"bitqueue/internal/cli"
	"bitqueue/internal/runs"
)

// flagsOf names the flags that set each field of a run's fingerprint.
var flagsOf = map[string]string{
	"input":      "--input, or --count, --seed and --max",
	"integers":   "--input or --count",
	"batch_size": "--batch-size",
	"shards":     "--shards",
	"queue":      "--queue",
}

// runError adds the command's advice to the run errors of runs: a run id
// refused for another fingerprint, or for a deleted run, is a usage error
// (exit 2); lost batches say how to enqueue them again, with the run's
// --input (empty for random input), and a full Redis how to enqueue the rest
// (exit 1).
//
// A run deleted, or whose record vanished, while it was being enqueued or
// waited for is a runtime failure (exit 1): the record gone says how to
// start the run over.
func runError(err error, inputFlag string) error {
	var mismatch *runs.MismatchError
	var deleted *runs.DeletedError
	var gone *runs.GoneError
	var lost *runs.LostError
	switch {
	case errors.As(err, new(*runs.OutOfMemoryError)):
		return oomError(err)
	case errors.As(err, &mismatch):
		return &cli.UsageError{Err: fmt.Errorf("%w; give the run's own %s, or another --run-id", err, flagsOf[mismatch.Field])}
	case errors.As(err, &deleted) && deleted.While == "":
		return &cli.UsageError{Err: fmt.Errorf("%w; give another --run-id", err)}
	case errors.As(err, &gone):
		return fmt.Errorf("%w; run the producer again with --run-id %s and the same input to enqueue it again", err, gone.RunID)
	case errors.As(err, &lost):
		return fmt.Errorf("%w; %s", err, requeueAdvice(lost.RunID, inputFlag == "", inputFlag))
	}
	return err
}

// oomError adds to a *runs.OutOfMemoryError in err how to finish the run
// once Redis has memory again, before Redis's reply; other errors it returns
// as they are.
func oomError(err error) error {
	var oom *runs.OutOfMemoryError
	if !errors.As(err, &oom) {
		return err
	}
	advice := "free memory or raise maxmemory, then run again"
	if oom.Started {
		advice += " with --run-id " + oom.RunID + " to enqueue the rest"
	}
	return &advised{err: err, msg: fmt.Sprintf("%v: %s; %s (redis: %v)", runs.ErrOutOfMemory, oom.State(), advice, oom.Err)}
}

// advised is an error with the command's advice in its text; it unwraps to
// the error it advises on.
type advised struct {
	err error
	msg string
}

func (a *advised) Error() string { return a.msg }
func (a *advised) Unwrap() error { return a.err }
