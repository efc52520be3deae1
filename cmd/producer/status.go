package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"bitqueue/internal/base"
	"bitqueue/internal/cli"
	"bitqueue/internal/rdb"
	"bitqueue/internal/redisconn"
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
// run service of cfg (its RDB, RedisWait and Logger set here). The caller
// closes db.
func (c inspectConfig) open(ctx context.Context, cmd string, stderr io.Writer, cfg runs.Config) (*inspection, error) {
	db, log, err := redisconn.Setup{
		URL: c.redisURL, URLFrom: c.redisFrom, Options: c.redisOpts, Wait: c.redisWait, LogFormat: c.logFormat, LogLevel: c.logLevel, Prefix: c.prefix,
		PoolSize: 16, // the run service looks several tasks up at once
	}.Start(ctx, stderr)
	if err != nil {
		return nil, err
	}
	cfg.RDB, cfg.RedisWait, cfg.Logger = db, c.redisWait, log
	svc, err := runs.New(cfg)
	if err != nil {
		db.Close()
		return nil, err
	}
	in := &inspection{db: db, svc: svc, log: log}
	if cmd == "list" {
		return in, nil
	}
	if in.rec, err = svc.Load(ctx, c.runID); err != nil {
		db.Close()
		return nil, err
	}
	if c.queue != "" && c.queue != in.rec.Queue {
		db.Close()
		return nil, cli.Usagef("%s: run %s's batches are on queue %s, as its record says, and nothing of it is anywhere else; give no --queue", c.queueFrom, in.rec.RunID, in.rec.Queue)
	}
	return in, nil
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
	if c.json {
		if err := json.NewEncoder(stdout).Encode(st); err != nil {
			return err
		}
	} else {
		printStatus(stdout, st)
	}
	switch {
	case st.State == runs.RunDeleted && st.Active > 0:
		return fmt.Errorf("%w; %d batch(es) still being processed will write their results: run delete again once they are done", &runs.DeletedError{RunID: st.RunID}, st.Active)
	case st.State == runs.RunDeleted:
		return &runs.DeletedError{RunID: st.RunID}
	case st.Failed > 0 && st.Lost > 0:
		return fmt.Errorf("run %s: %d batch(es) failed and %d lost; %s", st.RunID, st.Failed, st.Lost, requeueAdvice(st.RunID, isRandom(st.Input), ""))
	case st.Failed > 0:
		return fmt.Errorf("run %s: %d batch(es) failed; `producer requeue --run-id %s` sends them back", st.RunID, st.Failed, st.RunID)
	case st.Lost > 0:
		return fmt.Errorf("run %s: %d batch(es) lost; %s", st.RunID, st.Lost, requeueAdvice(st.RunID, isRandom(st.Input), ""))
	}
	return nil
}

func printStatus(w io.Writer, st runs.Status) {
	queue := st.Queue
	if st.Shards > 1 {
		queue = fmt.Sprintf("%s (%d shards)", st.Queue, st.Shards)
	}
	fmt.Fprintf(w, "run %s on queue %s: %d batches, %d integers (batch size %d), enqueued %s\n",
		st.RunID, queue, st.Batches, st.Integers, st.BatchSize, st.Created.UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "  input    %s\n", cmp.Or(st.Input, "(not recorded)"))
	fmt.Fprintf(w, "  state    %s\n", st.State)
	fmt.Fprintf(w, "  %-8s %d\n", runs.BatchDone, st.Done)
	fmt.Fprintf(w, "  %-8s %d (active %d, retry %d, scheduled %d)\n", runs.BatchPending, st.Pending, st.Active, st.Retry, st.Scheduled)
	fmt.Fprintf(w, "  %-8s %d%s\n", runs.BatchFailed, st.Failed, listed(st.FailedIDs, st.Failed))
	if st.LastError != "" {
		fmt.Fprintf(w, "           last error: %s\n", st.LastError)
	}
	fmt.Fprintf(w, "  %-8s %d%s\n", runs.BatchLost, st.Lost, listed(st.LostIDs, st.Lost))
	t := st.Totals
	fmt.Fprintf(w, "queue %s: pending %d, active %d, scheduled %d, retry %d, archived %d, completed %d; processed %d, failed %d in all; %d worker(s)\n",
		queue, t.Pending, t.Active, t.Scheduled, t.Retry, t.Archived, t.Completed, t.ProcessedTotal, t.FailedTotal, t.Workers)
}

// listed formats up to runs.MaxListed ids of n.
func listed(ids []string, n int) string {
	if len(ids) == 0 {
		return ""
	}
	s := ": " + strings.Join(ids, ", ")
	if n > len(ids) {
		s += fmt.Sprintf(", … (%d more)", n-len(ids))
	}
	return s
}
