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
// (exit 2); lost batches say how to enqueue them again (exit 1), with the
// run's --input (empty for random input).
func runError(err error, inputFlag string) error {
	var mismatch *runs.MismatchError
	var deleted *runs.DeletedError
	var lost *runs.LostError
	switch {
	case errors.As(err, &mismatch):
		return &cli.UsageError{Err: fmt.Errorf("%w; give the run's own %s, or another --run-id", err, flagsOf[mismatch.Field])}
	case errors.As(err, &deleted):
		return &cli.UsageError{Err: fmt.Errorf("%w; give another --run-id", err)}
	case errors.As(err, &lost):
		return fmt.Errorf("%w; %s", err, requeueAdvice(lost.RunID, inputFlag == "", inputFlag))
	}
	return err
}
