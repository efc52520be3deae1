package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"

	"bitqueue/internal/runs"
)

// runResults is `producer results`: it writes "<n>\t<bitstring>" for every
// integer of a run, in order, from the run's results alone. A missing or
// inconsistent result is an error (exit 1) naming its batch; a file given
// with --out is written beside it and renamed only once complete, so that it
// never holds a partial run.
func runResults(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c, in, err := openInspection(ctx, "results", args, getenv, stdout, stderr)
	if err != nil {
		return err
	}
	defer in.rdb.Close()
	if c.out == "-" {
		bw := bufio.NewWriterSize(stdout, 1<<16)
		if err := runs.WriteResults(ctx, in.store, in.rec, bw); err != nil {
			return err
		}
		return bw.Flush()
	}
	return writeAtomically(c.out, func(w io.Writer) error { return runs.WriteResults(ctx, in.store, in.rec, w) })
}

// writeAtomically writes path through fill: into a temporary file in path's
// directory, renamed to path once fill and the writes succeeded, removed
// otherwise.
func writeAtomically(path string, fill func(io.Writer) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<16)
	if err := fill(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return errors.Join(err, os.Remove(f.Name()))
	}
	return nil
}
