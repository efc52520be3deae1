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

// listJSON is one line of `producer list --json`.
type listJSON struct {
	RunID     string    `json:"run_id"`
	Created   time.Time `json:"created"`
	Queue     string    `json:"queue"`
	Shards    int       `json:"shards"`
	Batches   int       `json:"batches"`
	Done      int       `json:"done"`
	Integers  uint64    `json:"integers"`
	BatchSize int       `json:"batch_size"`
	Input     string    `json:"input"`
	State     string    `json:"state"`
}

// runList is `producer list`: the runs Redis knows under --prefix, newest
// first, one per line (one JSON object per line with --json), with their
// batches done out of all and their state: done, running or deleted.
func runList(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c, in, err := openInspection(ctx, "list", args, getenv, stdout, stderr)
	if err != nil {
		return err
	}
	defer in.rdb.Close()
	list, err := runs.List(ctx, in.store)
	if err != nil {
		return err
	}
	if c.json {
		enc := json.NewEncoder(stdout)
		for _, r := range list {
			if err := enc.Encode(listJSON{
				RunID: r.RunID, Created: r.Created, Queue: r.Queue, Shards: r.Shards, Batches: r.Batches, Done: r.Done,
				Integers: r.Integers, BatchSize: r.BatchSize, Input: r.Input, State: r.Phase,
			}); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN ID\tCREATED\tDONE\tSTATE\tINPUT")
	for _, r := range list {
		fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%s\t%s\n", r.RunID, r.Created.UTC().Format(time.RFC3339), r.Done, r.Batches, r.Phase, r.Input)
	}
	return tw.Flush()
}
