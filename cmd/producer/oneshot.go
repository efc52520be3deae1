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

	"go.opentelemetry.io/otel/trace"

	"bitqueue/internal/base"
	"bitqueue/internal/cli"
	"bitqueue/internal/input"
	"bitqueue/internal/outfile"
	"bitqueue/internal/progress"
	"bitqueue/internal/runs"
	"bitqueue/internal/tracing"
)

// maxBatches bounds the batches of one run: their seqs stay below 2^32, the
// range of a Redis bitmap's offsets (the run's done bitmap is indexed by
// seq). Only batch sizes of 1 and 2 can reach it within input.MaxCount.
const maxBatches = 1 << 32

// summary is what --json prints once a one-shot run is through.
type summary struct {
	RunID         string  `json:"run_id"`
	Batches       int     `json:"batches"`
	Integers      uint64  `json:"integers"`
	Enqueued      int     `json:"enqueued"`
	AlreadyQueued int     `json:"already_queued"`
	AlreadyDone   int     `json:"already_done"`
	Waited        bool    `json:"waited"`
	Seconds       float64 `json:"seconds"`
}

// runOnce produces one run: it checks --out, snapshots and checks the input,
// enqueues, and with --wait waits for the results and writes them out. It
// prints the run id on stdout once the run is enqueued (unless --out - writes
// rows there), or with --json a summary once it is through. The run is a
// span, the root of a trace, with its enqueue, wait and output as children.
func runOnce(ctx context.Context, c config, log *slog.Logger, stdout, stderr io.Writer) (err error) {
	began := time.Now()
	if c.runID == "" {
		c.runID = base.NewRunID(began)
	}
	ctx, span := c.startSpan(ctx, spanRun, trace.WithAttributes(tracing.AttrRunID.String(c.runID)))
	defer func() { tracing.End(span, err) }()

	// Open contacts nothing: a malformed URL is refused before any input is read.
	setup := c.redisSetup(c.concurrency + 2)
	db, err := setup.Open()
	if err != nil {
		return err
	}
	defer db.Close()

	// The output is checked before the input is read, so that a typo
	// costs no copy of a large input.
	var out *outfile.File
	if c.out != "" && c.out != "-" {
		if out, err = createOut(c.out); err != nil {
			return err
		}
		defer out.Abort()
		logRemoved(log, out)
	}
	src, err := openInput(&c)
	if err != nil {
		return err
	}
	if s, ok := src.(*input.Snapshot); ok {
		defer s.Close()
		if out != nil && out.Same(s.Original()) {
			return cli.Usagef("--out %s is the input %s: writing it would destroy the input; give --out another file", c.out, s.Name())
		}
	}
	total, err := input.Count(src)
	if err != nil {
		return inputErr(err)
	}
	batches := base.Batches(total, c.batchSize)
	if uint64(batches) > maxBatches {
		return cli.Usagef("%s: %d integers in batches of %d make %d batches, more than %d; raise --batch-size", src.Name(), total, c.batchSize, batches, uint64(maxBatches))
	}
	log.Info("run", "run_id", c.runID, "source", src.Name(), "integers", total, "batches", batches, "seed", c.seed)
	span.SetAttributes(tracing.AttrBatches.Int(batches), tracing.AttrIntegers.Int64(int64(total)))

	if err := setup.WaitFor(ctx, db, log); err != nil {
		return err
	}
	svc, err := c.service(db, log)
	if err != nil {
		return err
	}
	logPlacement(ctx, db, base.Queues(c.queue, c.shards), log)
	start := time.Now()
	rec, st, err := c.enqueue(ctx, svc, c.spec(c.runID, src, total))
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("run %s: interrupted (%v) after %d of its %d batches were enqueued or found done; run the producer again with --run-id %s and the same input to enqueue the rest",
				c.runID, context.Cause(ctx), st.Enqueued+st.Queued+st.Done, st.Batches, c.runID)
		}
		return runError(err, c.input)
	}
	log.Info("enqueued", "run_id", c.runID, "batches", st.Batches, "new", st.Enqueued, "already_queued", st.Queued, "already_done", st.Done, "took", time.Since(start).Round(time.Millisecond))
	if !c.json && c.out != "-" {
		fmt.Fprintln(stdout, c.runID)
	}

	if c.wait {
		waitCtx := ctx
		if c.timeout > 0 {
			var cancel context.CancelFunc
			waitCtx, cancel = context.WithTimeoutCause(ctx, c.timeout, fmt.Errorf("timed out after %s", c.timeout))
			defer cancel()
		}
		view := progress.NewView(stderr, log, c.logFormat, workerAdvice(c), c.prefix)
		wctx, wspan := c.startSpan(waitCtx, spanWait)
		err := svc.Wait(wctx, rec, view.Watch())
		tracing.End(wspan, err)
		view.Close()
		if err != nil && ctx.Err() != nil {
			return fmt.Errorf("run %s: %w; its batches are enqueued and the workers go on: `producer status --run-id %s` tells how far it is", c.runID, err, c.runID)
		}
		if err != nil {
			return runError(err, c.input)
		}
		if err := writeRows(ctx, c, log, svc, rec, src, out, stdout); err != nil {
			return err
		}
	}
	if c.json {
		return json.NewEncoder(stdout).Encode(summary{
			RunID: c.runID, Batches: st.Batches, Integers: total,
			Enqueued: st.Enqueued, AlreadyQueued: st.Queued, AlreadyDone: st.Done,
			Waited: c.wait, Seconds: time.Since(began).Seconds(),
		})
	}
	return nil
}

// writeRows writes rec's rows to --out, as a span: to out when it names a
// file, to stdout with --out -, nowhere without --out.
func writeRows(ctx context.Context, c config, log *slog.Logger, svc *runs.Service, rec base.Record, src input.Source, out *outfile.File, stdout io.Writer) (err error) {
	if out == nil && c.out != "-" {
		return nil
	}
	ctx, span := c.startSpan(ctx, spanWriteRows)
	defer func() { tracing.End(span, err) }()
	if out != nil {
		return fillOut(ctx, log, c.out, out, func(w io.Writer) error { return svc.WriteRows(ctx, rec, w, src) })
	}
	bw := bufio.NewWriterSize(stdout, 1<<16)
	if err := svc.WriteRows(ctx, rec, bw, src); err != nil {
		return err
	}
	return bw.Flush()
}

// openInput returns the source of c's integers: a snapshot of the file or of
// stdin, which the caller closes, or the random integers of c's seed (set
// from the run id when --seed is not given).
func openInput(c *config) (input.Source, error) {
	var s *input.Snapshot
	var err error
	switch {
	case c.input == "-":
		s, err = input.SnapshotReader(os.Stdin, "", "stdin")
	case c.input != "":
		s, err = input.SnapshotFile(c.input, "")
	default:
		if !c.seedSet {
			c.seed = base.SeedFor(c.runID)
		}
		return input.Random(c.seed, c.count, c.max), nil
	}
	if err != nil {
		return nil, inputErr(err)
	}
	return s, nil
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

// workerAdvice is what the no-worker warning advises: the worker command
// that serves c's queues.
func workerAdvice(c config) string {
	cmd := "start bin/worker"
	if c.queue != defaultQueue {
		cmd += " --queue " + c.queue
	}
	if c.shards > 1 {
		cmd += fmt.Sprintf(" --shards %d", c.shards)
	}
	if c.prefix != base.DefaultPrefix {
		cmd += " --prefix " + c.prefix
	}
	return cmd + " on the same Redis, or check why the workers stopped (a worker still building its cache serves nothing yet)"
}
