package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"bitqueue/internal/runs"
)

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
	if c.json {
		enc := json.NewEncoder(stdout)
		for _, r := range list {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN ID\tCREATED\tDONE\tSTATE\tINPUT")
	for _, r := range list {
		fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%s\t%s\n", r.RunID, r.Created.UTC().Format(time.RFC3339), r.Done, r.Batches, r.State, r.Input)
	}
	return tw.Flush()
}
