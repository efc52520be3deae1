package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"bitqueue/internal/base"
	"bitqueue/internal/cli"
	"bitqueue/internal/input"
	"bitqueue/internal/outfile"
	"bitqueue/internal/rdb"
	"bitqueue/internal/runs"
)

// inspection is what an inspect subcommand works with: Redis, the run
// service on it and, but for list, the run's record.
type inspection struct {
	db  *rdb.RDB
	svc *runs.Service
	rec base.Record
	log *slog.Logger
}

// open connects to Redis and reads the run's record (none for list), with a
// run service of cfg (RDB, RedisWait and Logger set here); the caller closes db.
func (c inspectConfig) open(ctx context.Context, cmd string, stderr io.Writer, cfg runs.Config) (in *inspection, err error) {
	setup := c.setup(16) // the run service looks several tasks up at once
	db, log, err := setup.Start(ctx, stderr)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			db.Close()
		}
	}()
	cfg.RDB, cfg.RedisWait, cfg.Logger = db, setup.Wait, log
	svc, err := runs.New(cfg)
	if err != nil {
		return nil, err
	}
	in = &inspection{db: db, svc: svc, log: log}
	if cmd == "list" {
		return in, nil
	}
	if in.rec, err = svc.Load(ctx, c.RunID); err != nil {
		return nil, err
	}
	if c.Queue != "" && c.Queue != in.rec.Queue {
		return nil, cli.Usagef("%s: run %s's batches are on queue %s, as its record says, and nothing of it is anywhere else; give no --queue", c.queueFrom, in.rec.RunID, in.rec.Queue)
	}
	return in, nil
}

// show writes v to w as a JSON object with asJSON, else as its text.
func show(w io.Writer, asJSON bool, v interface{ WriteText(io.Writer) error }) error {
	if asJSON {
		return json.NewEncoder(w).Encode(v)
	}
	return v.WriteText(w)
}

// runStatus is `producer status`: it prints how many batches of a run are
// done, pending, failed or lost, and the totals of the run's queue. It
// returns an error (exit 1) when the run has failed or lost batches or was
// deleted, as well as when the run is unknown or Redis fails.
func runStatus(ctx context.Context, c inspectConfig, stdout, stderr io.Writer) error {
	in, err := c.open(ctx, "status", stderr, runs.Config{})
	if err != nil {
		return err
	}
	defer in.db.Close()
	st, err := in.svc.Status(ctx, in.rec)
	if err != nil {
		return err
	}
	if err := show(stdout, c.sub.Status.JSON, st); err != nil {
		return err
	}
	_, random := input.FromIdentity(st.Input)
	var advice string
	switch {
	case st.State == runs.RunDeleted && st.Active > 0:
		return fmt.Errorf("%w; %d batch(es) still being processed will write their results: run delete again once they are done", &runs.DeletedError{RunID: st.RunID}, st.Active)
	case st.State == runs.RunDeleted:
		return &runs.DeletedError{RunID: st.RunID}
	case st.Failed > 0 && st.Lost > 0:
		advice = fmt.Sprintf("run %s: %d batch(es) failed and %d lost; %s", st.RunID, st.Failed, st.Lost, requeueAdvice(st.RunID, random, ""))
	case st.Failed > 0:
		advice = fmt.Sprintf("run %s: %d batch(es) failed; `producer requeue --run-id %s` sends them back", st.RunID, st.Failed, st.RunID)
	case st.Lost > 0:
		advice = fmt.Sprintf("run %s: %d batch(es) lost; %s", st.RunID, st.Lost, requeueAdvice(st.RunID, random, ""))
	default:
		return nil
	}
	if len(st.Totals.Paused) > 0 {
		// Requeued batches would wait on the paused queue.
		advice += "; but " + runs.PausedMessage(st.Totals.Paused)
	}
	return errors.New(advice)
}

// runRequeue is `producer requeue`: it sends a run's failed batches back to
// their queue and enqueues its lost ones again (from the seed of a random
// run, or --input), and prints their ids. An --input that is not the run's
// is a usage error (exit 2), before anything changes; an unknown run, lost
// batches that need --input or a batch not requeued, an error (exit 1).
func runRequeue(ctx context.Context, c inspectConfig, stdout, stderr io.Writer) error {
	in, err := c.open(ctx, "requeue", stderr, runs.Config{MaxRetry: c.sub.Requeue.MaxRetry, TaskTimeout: c.sub.Requeue.TaskTimeout})
	if err != nil {
		return err
	}
	defer in.db.Close()
	rec := in.rec
	if rec.Deleted {
		return &cli.UsageError{Err: fmt.Errorf("%w: nothing to requeue", &runs.DeletedError{RunID: rec.RunID})}
	}
	src, err := requeueSource(c.sub.Requeue.Input, rec)
	if err != nil {
		return err
	}
	if src != nil {
		defer src.Close()
	}
	out, err := in.svc.Requeue(ctx, rec, src)
	var need *runs.InputNeededError
	if errors.As(err, &need) {
		err = fmt.Errorf("%w; %s", err, requeueAdvice(rec.RunID, false, ""))
	}
	if len(out.Enqueued) > 0 {
		in.log.Info("lost batches enqueued again", "run_id", rec.RunID, "lost", out.Lost, "enqueued", len(out.Enqueued))
	}
	return errors.Join(err, show(stdout, c.sub.Requeue.JSON, out))
}

// requeueSource returns a snapshot of path (stdin for -), which the caller
// closes, once its identity is found to be rec's input (a usage error naming
// both otherwise); or, without path, nil.
func requeueSource(path string, rec base.Record) (input.Source, error) {
	_, isRandom := input.FromIdentity(rec.Input)
	if path == "" {
		return nil, nil
	}
	if isRandom {
		return nil, cli.Usagef("--input %s: run %s drew random integers (%s), which are drawn again from its seed: give no --input", path, rec.RunID, rec.Input)
	}
	s, err := input.SnapshotPath(path, os.Stdin)
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

// runResults is `producer results`: it writes "<n>\t<bitstring>" for every
// integer of a run, in order, from the run's results alone; a missing or
// inconsistent result is an error (exit 1) naming its batch. --out is
// checked before Redis is contacted and written as the producer's is.
func runResults(ctx context.Context, c inspectConfig, stdout, stderr io.Writer) error {
	var out *outfile.File
	var err error
	if c.sub.Results.Out != "-" {
		if out, err = createOut(c.sub.Results.Out); err != nil {
			return err
		}
		defer out.Abort()
	}
	in, err := c.open(ctx, "results", stderr, runs.Config{})
	if err != nil {
		return err
	}
	defer in.db.Close()
	logRemoved(in.log, out)
	return writeOut(ctx, in.log, c.sub.Results.Out, out, stdout, func(w io.Writer) error { return in.svc.WriteRows(ctx, in.rec, w, nil) })
}

// runList is `producer list`: the runs Redis knows under --prefix, newest
// first, one per line (one JSON object per line with --json), with their
// batches done out of all and their state: done, running or deleted.
func runList(ctx context.Context, c inspectConfig, stdout, stderr io.Writer) error {
	in, err := c.open(ctx, "list", stderr, runs.Config{})
	if err != nil {
		return err
	}
	defer in.db.Close()
	list, err := in.svc.List(ctx)
	if err != nil {
		return err
	}
	if c.sub.List.JSON {
		enc := json.NewEncoder(stdout)
		for _, r := range list {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	return runs.WriteList(stdout, list)
}

// runDelete is `producer delete`: it deletes a run's tasks (but the active
// ones), results, done bitmap and index entry, leaving a tombstone record
// that refuses the run id until it expires. It returns an error (exit 1)
// when batches were still being processed: they will write their results,
// which running delete again removes.
func runDelete(ctx context.Context, c inspectConfig, stdout, stderr io.Writer) error {
	in, err := c.open(ctx, "delete", stderr, runs.Config{})
	if err != nil {
		return err
	}
	defer in.db.Close()
	st, err := in.svc.Delete(ctx, in.rec, c.sub.Delete.RecordTTL)
	if err != nil {
		return err
	}
	if err := show(stdout, c.sub.Delete.JSON, st); err != nil {
		return err
	}
	if len(st.Active) > 0 {
		return fmt.Errorf("run %s: %d batch(es) still being processed, left to finish%s; run delete again once they are done to remove their results",
			st.RunID, len(st.Active), runs.Listed(st.Active[:min(len(st.Active), runs.MaxListed)], len(st.Active)))
	}
	return nil
}
