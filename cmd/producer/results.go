package main

import (
	"bufio"
	"context"
	"io"

	"bitqueue/internal/outfile"
	"bitqueue/internal/runs"
)

// runResults is `producer results`: it writes "<n>\t<bitstring>" for every
// integer of a run, in order, from the run's results alone. A missing or
// inconsistent result is an error (exit 1) naming its batch. --out goes
// through the same writer as the producer's --out, checked before Redis is
// contacted (exit 2 naming it): a file is written beside it and renamed only
// once complete, so that it never holds a partial run; a FIFO or a device
// is written in place.
func runResults(ctx context.Context, c inspectConfig, stdout, stderr io.Writer) error {
	var out *outfile.File
	var err error
	if c.out != "-" {
		if out, err = createOut(c.out); err != nil {
			return err
		}
		defer out.Abort()
	}
	in, err := c.open(ctx, "results", stderr, runs.Config{})
	if err != nil {
		return err
	}
	defer in.db.Close()
	fill := func(w io.Writer) error { return in.svc.WriteRows(ctx, in.rec, w, nil) }
	if out == nil {
		bw := bufio.NewWriterSize(stdout, 1<<16)
		if err := fill(bw); err != nil {
			return err
		}
		return bw.Flush()
	}
	logRemoved(in.log, out)
	return fillOut(ctx, in.log, c.out, out, fill)
}
