package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"
	_ "time/tzdata" // --tz works on hosts and images without a zone database

	"bitqueue/internal/base"
	"bitqueue/internal/cli"
	"bitqueue/internal/input"
	"bitqueue/internal/outfile"
	"bitqueue/internal/progress"
	"bitqueue/internal/rdb"
	"bitqueue/internal/runs"
	"bitqueue/internal/schedule"
	"bitqueue/internal/tracing"

	"go.opentelemetry.io/otel/trace"
)

// summary is what --json prints once a one-shot run is through.
type summary struct {
	RunID string `json:"run_id"`
	runs.EnqueueStats
	Integers uint64  `json:"integers"`
	Waited   bool    `json:"waited"`
	Seconds  float64 `json:"seconds"`
}

// runOnce produces one run: it checks --out, snapshots and checks the input,
// enqueues, and with --wait waits for the results and writes them out. It
// prints the run id on stdout once the run is enqueued (unless --out - writes
// rows there), or with --json a summary once it is through.
func runOnce(ctx context.Context, c config, log *slog.Logger, stdout, stderr io.Writer) (err error) {
	began := time.Now()
	if c.RunID == "" {
		c.RunID = base.NewRunID(began)
	}
	// The root span of the run's trace, parent of the run service's spans.
	ctx, span := c.tracing.Tracer().Start(ctx, "producer run", trace.WithAttributes(tracing.AttrRunID.String(c.RunID)))
	defer func() { tracing.End(span, err) }()

	// Open contacts nothing: a malformed URL is refused before any input is read.
	setup := c.setup(c.Concurrency + 2)
	db, err := setup.Open()
	if err != nil {
		return err
	}
	defer db.Close()

	// The output is checked before the input is read, so that a typo
	// costs no copy of a large input.
	var out *outfile.File
	if c.Out != "" && c.Out != "-" {
		if out, err = createOut(c.Out); err != nil {
			return err
		}
		defer out.Abort()
		logRemoved(log, out)
	}
	if c.Input == "" && !c.seedSet {
		c.Seed = base.SeedFor(c.RunID)
	}
	src, err := input.Open(c.Input, os.Stdin, c.Count, c.Max, c.Seed)
	if err != nil {
		return inputErr(err)
	}
	defer src.Close()
	if s, ok := src.(*input.Snapshot); ok {
		if out != nil && out.Same(s.Original()) {
			return cli.Usagef("--out %s is the input %s: writing it would destroy the input; give --out another file", c.Out, s.Name())
		}
	}
	total, err := input.Count(src)
	if err != nil {
		return inputErr(err)
	}
	batches := base.Batches(total, c.BatchSize)
	if uint64(batches) > base.MaxBatches {
		return cli.Usagef("%s: %d integers in batches of %d make %d batches, more than %d; raise --batch-size", src.Name(), total, c.BatchSize, batches, uint64(base.MaxBatches))
	}
	log.Info("run", "run_id", c.RunID, "source", src.Name(), "integers", total, "batches", batches, "seed", c.Seed)
	span.SetAttributes(tracing.AttrBatches.Int(batches), tracing.AttrIntegers.Int64(int64(total)))

	if err := setup.WaitFor(ctx, db, log); err != nil {
		return err
	}
	svc, err := runs.New(c.runsConfig(db, log))
	if err != nil {
		return err
	}
	svc.LogPlacement(ctx, c.Queue, c.Shards)
	start := time.Now()
	rec, st, err := svc.Enqueue(ctx, runs.Spec{RunID: c.RunID, Queue: c.Queue, Shards: c.Shards, BatchSize: c.BatchSize, Source: src, Integers: total})
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("run %s: interrupted (%v) after %d of its %d batches were enqueued or found done; run the producer again with --run-id %s and the same input to enqueue the rest",
				c.RunID, context.Cause(ctx), st.Enqueued+st.Queued+st.Done, st.Batches, c.RunID)
		}
		return runError(err, c.Input)
	}
	log.Info("enqueued", "run_id", c.RunID, "batches", st.Batches, "new", st.Enqueued, "already_queued", st.Queued, "already_done", st.Done, "took", time.Since(start).Round(time.Millisecond))
	if !c.JSON && c.Out != "-" {
		fmt.Fprintln(stdout, c.RunID)
	}

	if c.Wait {
		waitCtx := ctx
		if c.Timeout > 0 {
			var cancel context.CancelFunc
			waitCtx, cancel = context.WithTimeoutCause(ctx, c.Timeout, fmt.Errorf("timed out after %s", c.Timeout))
			defer cancel()
		}
		view := progress.NewView(stderr, log, c.Log.Format, progress.WorkerAdvice(c.Queue, c.Shards, c.Prefix.Prefix), c.Prefix.Prefix)
		err := svc.Wait(waitCtx, rec, view.Watch())
		view.Close()
		if err != nil && ctx.Err() != nil {
			return fmt.Errorf("run %s: %w; its batches are enqueued and the workers go on: `producer status --run-id %s` tells how far it is", c.RunID, err, c.RunID)
		}
		if err != nil {
			return runError(err, c.Input)
		}
		if c.Out != "" {
			if err := writeOut(ctx, log, c.Out, out, stdout, func(w io.Writer) error { return svc.WriteRows(ctx, rec, w, src) }); err != nil {
				return err
			}
		}
	}
	if c.JSON {
		return json.NewEncoder(stdout).Encode(summary{RunID: c.RunID, EnqueueStats: st, Integers: total, Waited: c.Wait, Seconds: time.Since(began).Seconds()})
	}
	return nil
}

// inputErr makes bad input a usage error; other errors (a spool that cannot
// be written) stay runtime failures.
func inputErr(err error) error {
	var bad *input.Error
	if errors.As(err, &bad) {
		return &cli.UsageError{Err: err}
	}
	return err
}

// runScheduled produces one run per tick of c's schedule, reading the time
// from clock, until ctx ends; it then returns nil (see schedule.Producer).
func runScheduled(ctx context.Context, c config, log *slog.Logger, clock schedule.Clock) error {
	setup := c.setup(c.Concurrency + 2)
	db, err := setup.Open()
	if err != nil {
		return err
	}
	defer db.Close()
	p := c.producer(db, log, clock)
	// A bad file is refused at start-up; one that turns bad later fails
	// only the ticks that read it.
	src, err := p.Input("")
	if err != nil {
		return inputErr(err)
	}
	src.Close()
	if err := setup.WaitFor(ctx, db, log); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	return p.Run(ctx)
}

// producer is the scheduled producer c describes, on db.
func (c config) producer(db *rdb.RDB, log *slog.Logger, clock schedule.Clock) *schedule.Producer {
	return &schedule.Producer{
		Schedule: c.sched, Name: c.Name, CatchUp: c.CatchUp, Clock: clock,
		File: c.Input, Count: c.Count, Max: c.Max,
		Queue: c.Queue, Shards: c.Shards, BatchSize: c.BatchSize,
		Runs: c.runsConfig(db, log),
	}
}

// createOut checks --out before any Redis work or input read, through the
// one writer of output files: a bad --out is a usage error naming it.
func createOut(name string) (*outfile.File, error) {
	out, err := outfile.Create(name)
	if err != nil {
		return nil, cli.Usagef("--out %s: %v", name, err)
	}
	return out, nil
}

// logRemoved logs the stale temporary files of --out that createOut
// removed, if out is not nil.
func logRemoved(log *slog.Logger, out *outfile.File) {
	if out == nil {
		return
	}
	for _, path := range out.Removed() {
		log.Info("removed a temporary file left by an earlier producer", "file", path)
	}
}

// writeOut writes the rows fill writes to out (--out name), buffered, or to stdout when
// out is nil. A file is renamed into place once complete; a FIFO, a device
// or a descriptor, written in place, is closed. A FIFO with no reader yet
// is waited for (until ctx is done), saying so.
func writeOut(ctx context.Context, log *slog.Logger, name string, out *outfile.File, stdout io.Writer, fill func(io.Writer) error) error {
	w := stdout
	if out != nil {
		if out.AwaitsReader() {
			log.Info("waiting for a process to open --out for reading", "out", name)
		}
		if err := out.Open(ctx); err != nil {
			return fmt.Errorf("--out %s: %w", name, err)
		}
		w = out
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	if err := fill(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil || out == nil {
		return err
	}
	return out.Commit()
}

// flagsOf names the flags that set each field of a run's fingerprint.
var flagsOf = map[string]string{
	"input":      "--input, or --count, --seed and --max",
	"integers":   "--input or --count",
	"batch_size": "--batch-size",
	"shards":     "--shards",
	"queue":      "--queue",
}

// runError adds the command's advice to the errors of runs: a run id refused
// for another fingerprint or a deleted run is a usage error (exit 2); lost
// batches, with the run's --input ("" for random), a vanished record and a
// full Redis say how to go on (exit 1).
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

// oomError puts in a *runs.OutOfMemoryError how to finish the run once Redis
// has memory again, before Redis's reply.
func oomError(err error) error {
	var oom *runs.OutOfMemoryError
	errors.As(err, &oom)
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

// requeueAdvice says how lost batches of runID are enqueued again: a random
// run's integers are drawn again from its seed; those of a run of a file or
// stdin are read from --input, file when it is known ("" or "-" when not).
func requeueAdvice(runID string, random bool, file string) string {
	switch {
	case random:
		return fmt.Sprintf("`producer requeue --run-id %s` enqueues them again", runID)
	case file == "" || file == "-":
		return fmt.Sprintf("`producer requeue --run-id %s --input FILE` enqueues them again, FILE holding the run's input", runID)
	}
	return fmt.Sprintf("`producer requeue --run-id %s --input %s` enqueues them again", runID, file)
}
