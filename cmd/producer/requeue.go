package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"bitqueue/internal/base"
	"bitqueue/internal/cli"
	"bitqueue/internal/input"
	"bitqueue/internal/runs"
)

// runRequeue is `producer requeue`: it sends a run's permanently failed
// batches back to their queue, enqueues its lost batches again (their
// integers drawn again from a random run's seed, or read from --input, which
// must be the run's input), and prints their ids. It returns a usage error
// (exit 2) for an --input that is not the run's, before it changes anything,
// and an error (exit 1) when the run is unknown, when lost batches need
// --input, or when a batch could not be requeued.
func runRequeue(ctx context.Context, c inspectConfig, stdout, stderr io.Writer) error {
	in, err := c.open(ctx, "requeue", stderr, runs.Config{MaxRetry: c.requeue.maxRetry, TaskTimeout: c.requeue.taskTimeout})
	if err != nil {
		return err
	}
	defer in.db.Close()
	rec := in.rec
	if rec.Deleted {
		return &cli.UsageError{Err: fmt.Errorf("%w: nothing to requeue", &runs.DeletedError{RunID: rec.RunID})}
	}
	src, err := requeueSource(c.requeue.input, rec)
	if err != nil {
		return err
	}
	if s, ok := src.(*input.Snapshot); ok {
		defer s.Close()
	}

	out, err := in.svc.Requeue(ctx, rec, src)
	var need *runs.InputNeededError
	if errors.As(err, &need) {
		err = fmt.Errorf("%w; %s", err, requeueAdvice(rec.RunID, false, ""))
	}
	if len(out.Enqueued) > 0 {
		in.log.Info("lost batches enqueued again", "run_id", rec.RunID, "lost", out.Lost, "enqueued", len(out.Enqueued))
	}
	if c.json {
		return errors.Join(err, json.NewEncoder(stdout).Encode(out))
	}
	queue := rec.Queue
	if rec.Shards > 1 {
		queue = fmt.Sprintf("%s (%d shards)", rec.Queue, rec.Shards)
	}
	if len(out.Failed) > 0 {
		fmt.Fprintf(stdout, "run %s: requeued %d failed batch(es) on queue %s%s\n", rec.RunID, len(out.Failed), queue, listed(out.Failed, len(out.Failed)))
	}
	if len(out.Enqueued) > 0 {
		fmt.Fprintf(stdout, "run %s: enqueued %d lost batch(es) again on queue %s%s\n", rec.RunID, len(out.Enqueued), queue, listed(out.Enqueued, len(out.Enqueued)))
	}
	if len(out.Failed) == 0 && out.Lost == 0 {
		fmt.Fprintf(stdout, "run %s: no failed or lost batches to requeue\n", rec.RunID)
	}
	return err
}

// requeueSource returns the source of the run's integers for its lost
// batches: a snapshot of path (stdin for -), which the caller closes, after
// checking that its identity is the run's; or, without path, nil: the run's
// own random integers, or none for a run of a file or stdin. An --input
// that is not the run's is a usage error naming both.
func requeueSource(path string, rec base.Record) (input.Source, error) {
	_, isRandom := input.FromIdentity(rec.Input)
	if path == "" {
		return nil, nil
	}
	if isRandom {
		return nil, cli.Usagef("--input %s: run %s drew random integers (%s), which are drawn again from its seed: give no --input", path, rec.RunID, rec.Input)
	}
	var s *input.Snapshot
	var err error
	if path == "-" {
		s, err = input.SnapshotReader(os.Stdin, "", "stdin")
	} else {
		s, err = input.SnapshotFile(path, "")
	}
	if err != nil {
		return nil, inputErr(err)
	}
	id, _ := s.Identity()
	if id != rec.Input {
		s.Close()
		recorded := rec.Input
		if recorded == "" {
			recorded = "no input identity (a record written before it was kept)"
		}
		return nil, cli.Usagef("--input %s: its bytes are %s, but run %s was produced from %s: give the run's own input", s.Name(), id, rec.RunID, recorded)
	}
	return s, nil
}

// requeueAdvice says how lost batches of runID are enqueued again:
// `producer requeue`, which draws the integers of a random run again from its
// recorded seed, and reads those of a run of a file or stdin from --input.
// file names the run's input file when it is known ("" or "-" when not).
func requeueAdvice(runID string, random bool, file string) string {
	switch {
	case random:
		return fmt.Sprintf("`producer requeue --run-id %s` enqueues them again", runID)
	case file == "" || file == "-":
		return fmt.Sprintf("`producer requeue --run-id %s --input FILE` enqueues them again, FILE holding the run's input", runID)
	}
	return fmt.Sprintf("`producer requeue --run-id %s --input %s` enqueues them again", runID, file)
}

// isRandom reports whether a run's recorded input identity names random
// integers, which requeue draws again without an --input.
func isRandom(identity string) bool {
	_, ok := input.FromIdentity(identity)
	return ok
}
