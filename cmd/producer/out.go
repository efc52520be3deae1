package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"

	"bitqueue/internal/cli"
	"bitqueue/internal/outfile"
)

// createOut checks --out before any Redis work or input read, through the
// one writer of output files: a bad --out is a usage error naming it.
func createOut(name string) (*outfile.File, error) {
	out, err := outfile.Create(name)
	if err != nil {
		return nil, cli.Usagef("--out %s: %v", name, err)
	}
	return out, nil
}

// logRemoved logs the stale temporary files of --out that createOut removed.
func logRemoved(log *slog.Logger, out *outfile.File) {
	for _, path := range out.Removed() {
		log.Info("removed a temporary file left by an earlier producer", "file", path)
	}
}

// fillOut writes --out through fill and commits it: once complete, a file
// is renamed into place; a FIFO, a device or a descriptor, written in
// place, is closed. A FIFO with no reader yet is waited for (until ctx is
// done), saying so.
func fillOut(ctx context.Context, log *slog.Logger, name string, out *outfile.File, fill func(io.Writer) error) error {
	if out.AwaitsReader() {
		log.Info("waiting for a process to open --out for reading", "out", name)
	}
	if err := out.Open(ctx); err != nil {
		return fmt.Errorf("--out %s: %w", name, err)
	}
	bw := bufio.NewWriterSize(out, 1<<16)
	if err := fill(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return out.Commit()
}
