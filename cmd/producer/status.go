package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"bitqueue/internal/base"
	"bitqueue/internal/cli"
	"bitqueue/internal/logging"
	"bitqueue/internal/progress"
	"bitqueue/internal/rdb"
	"bitqueue/internal/redisconn"
	"bitqueue/internal/runs"
)

// inspectConfig is the configuration of status, requeue, results, list and
// delete.
type inspectConfig struct {
	redisURL  string
	redisOpts redisconn.Options // TLS settings and passwords
	redisWait time.Duration
	prefix    string
	queue     string
	queueFrom string // --queue as the user gave it, for messages
	runID     string
	json      bool
	logFormat string
	logLevel  string
	out       string        // results: where to write
	recordTTL time.Duration // delete: how long the tombstone lives
	requeue   requeueFlags  // requeue: the input of lost batches, their task options
}

// inspectHelp is what each inspect subcommand's -h shows besides its flags.
var inspectHelp = map[string]struct{ synopsis, examples []string }{
	"status": {
		[]string{"producer status --run-id ID [--json] [flags]   (exit 1 when batches failed or were lost)"},
		[]string{
			"producer status --run-id 20261201T120000Z-1a2b3c4d",
			"producer status --run-id nightly-20261201T0000Z --json",
			"# flags may come before or after the subcommand",
			"producer --redis redis://10.0.0.5:6379/0 status --run-id ID",
		},
	},
	"requeue": {
		[]string{"producer requeue --run-id ID [--json] [flags]"},
		[]string{
			"producer requeue --run-id ID",
			"# requeue only when status finds failed batches",
			"producer status --run-id ID || producer requeue --run-id ID",
		},
	},
	"results": {
		[]string{"producer results --run-id ID [--out FILE] [flags]"},
		[]string{
			"producer results --run-id ID --out bits.tsv",
			"producer results --run-id ID | head",
		},
	},
	"list": {
		[]string{"producer list [--json] [flags]"},
		[]string{
			"producer list",
			"BITQUEUE_PREFIX=staging producer list --json",
		},
	},
	"delete": {
		[]string{"producer delete --run-id ID [--json] [flags]"},
		[]string{
			"producer delete --run-id ID",
			"# refuse the deleted run's id for a week",
			"producer delete --run-id ID --record-ttl 168h",
		},
	},
}

// inspectFlags declares the flags of the inspect subcommand cmd (status,
// requeue, results, list or delete) into c. Each has the variable of the
// producer's flag of the same meaning; --queue, which overrides the queue in
// the run's record rather than naming where to enqueue, has its own,
// BITQUEUE_RUN_QUEUE.
func inspectFlags(cmd string, c *inspectConfig) *cli.FlagSet {
	fs := cli.NewFlagSet("producer "+cmd, "BITQUEUE_")
	h := inspectHelp[cmd]
	fs.Synopsis, fs.Examples = h.synopsis, h.examples

	fs.Group("Run")
	if cmd != "list" {
		fs.StringVar(&c.runID, "run-id", "", "`id` of the run (required)")
	}
	switch cmd {
	case "results":
		fs.StringVar(&c.out, "out", "-", "write \"<n>\\t<bitstring>\" per integer of the run, in order, to this `file` (- for stdout): checked before Redis is contacted, written beside it and renamed when complete (a FIFO or a device: in place)")
	case "delete":
		fs.DurationVar(&c.recordTTL, "record-ttl", base.DefaultTTL, "how long the deleted run's record is kept, refusing its run id (at least 1s)")
	case "requeue":
		c.requeue.addFlags(fs.FlagSet)
	}
	queueUsage := "`queue` of the run's batches (default: the queue in the run's record)"
	if cmd == "list" {
		queueUsage = "no effect: list reads each run's queue from its record (accepted like the other subcommands' --queue)"
	}
	fs.StringVar(&c.queue, "queue", "", queueUsage)
	fs.Env("queue", "BITQUEUE_RUN_QUEUE")
	fs.StringVar(&c.prefix, "prefix", base.DefaultPrefix, "`prefix` of the result and run keys, as given to the producer")
	jsonUsage := "print one JSON object instead of text"
	switch cmd {
	case "list":
		jsonUsage = "print one JSON object per run instead of a table"
	case "results":
		jsonUsage = "no effect: the rows are text (accepted like the other subcommands' --json)"
	}
	fs.BoolVar(&c.json, "json", false, jsonUsage)

	fs.Group("Redis")
	fs.StringVar(&c.redisURL, "redis", redisconn.DefaultURL, redisconn.URLHelp)
	fs.Env("redis", "BITQUEUE_REDIS_URL")
	fs.DurationVar(&c.redisWait, "redis-wait", 10*time.Second, "how long to wait for Redis to answer before giving up")
	c.redisOpts.AddFlags(fs.FlagSet)

	fs.Group("Logging")
	fs.StringVar(&c.logFormat, "log-format", "text", "log `format`: text or json")
	fs.StringVar(&c.logLevel, "log-level", "info", "log `level`: debug, info, warn or error")
	return fs
}

// parseInspect parses the flags of the inspect subcommand cmd and checks
// them; each message names a value as the user gave it (cli.Source).
func parseInspect(cmd string, args []string, getenv func(string) string, stdout io.Writer) (inspectConfig, error) {
	var c inspectConfig
	fs := inspectFlags(cmd, &c)
	if err := fs.Parse(args, getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.PrintUsage(stdout)
		}
		return c, err
	}
	c.redisOpts.ReadSecrets(getenv)
	c.queueFrom = fs.Source("queue")
	switch {
	case c.runID == "" && cmd != "list":
		return c, cli.Usagef("--run-id is required")
	case cmd == "results" && c.out == "":
		return c, cli.Usagef("%s must name a file, or - for stdout", fs.Source("out"))
	case cmd == "delete" && c.recordTTL < time.Second:
		return c, cli.Usagef("%s must be at least 1s", fs.Source("record-ttl"))
	case c.redisWait <= 0:
		return c, cli.Usagef("%s must be positive", fs.Source("redis-wait"))
	case base.CheckPrefix(c.prefix) != nil:
		return c, cli.Usagef("%s must be non-empty without spaces", fs.Source("prefix"))
	case strings.ContainsAny(c.queue, " \t\r\n"):
		return c, cli.Usagef("%s must not hold spaces", fs.Source("queue"))
	case c.queue != "" && base.CheckQueue(c.queue) != nil:
		return c, cli.Usagef("%s %v", fs.Source("queue"), base.CheckQueue(c.queue))
	case c.logFormat != "text" && c.logFormat != "json":
		return c, cli.Usagef("%s: want text or json", fs.Source("log-format"))
	}
	if _, err := logging.New(io.Discard, c.logFormat, c.logLevel); err != nil {
		return c, cli.Usagef("%s: want debug, info, warn or error", fs.Source("log-level"))
	}
	if cmd == "requeue" {
		if err := c.requeue.check(); err != nil {
			return c, err
		}
	}
	if cmd == "list" {
		return c, nil
	}
	if err := base.ValidateRunID(c.runID); err != nil {
		why := strings.TrimLeft(strings.TrimPrefix(err.Error(), fmt.Sprintf("run id %q", c.runID)), ": ")
		return c, cli.Usagef("%s: %s", fs.Source("run-id"), why)
	}
	return c, nil
}

// inspection is what an inspect subcommand works with: Redis, the run
// service on it and, but for list, the run's record.
type inspection struct {
	db  *rdb.RDB
	svc *runs.Service
	rec base.Record
	log *slog.Logger
}

// openInspection parses the flags of cmd, connects to Redis and reads the
// run's record (none for list). The caller closes db.
func openInspection(ctx context.Context, cmd string, args []string, getenv func(string) string, stdout, stderr io.Writer) (inspectConfig, *inspection, error) {
	c, err := parseInspect(cmd, args, getenv, stdout)
	if err != nil {
		return c, nil, err
	}
	in, err := c.open(ctx, cmd, stderr, runs.Config{})
	return c, in, err
}

// open connects to Redis and reads the run's record (none for list), with a
// run service of cfg (its RDB, RedisWait and Logger set here). The caller
// closes db.
func (c inspectConfig) open(ctx context.Context, cmd string, stderr io.Writer, cfg runs.Config) (*inspection, error) {
	db, log, err := redisconn.Setup{
		URL: c.redisURL, Options: c.redisOpts, Wait: c.redisWait, LogFormat: c.logFormat, LogLevel: c.logLevel, Prefix: c.prefix,
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
func runStatus(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c, in, err := openInspection(ctx, "status", args, getenv, stdout, stderr)
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
	var advice string
	switch {
	case st.State == runs.RunDeleted && st.Active > 0:
		return fmt.Errorf("%w; %d batch(es) still being processed will write their results: run delete again once they are done", &runs.DeletedError{RunID: st.RunID}, st.Active)
	case st.State == runs.RunDeleted:
		return &runs.DeletedError{RunID: st.RunID}
	case st.Failed > 0 && st.Lost > 0:
		advice = fmt.Sprintf("run %s: %d batch(es) failed and %d lost; %s", st.RunID, st.Failed, st.Lost, requeueAdvice(st.RunID, isRandom(st.Input), ""))
	case st.Failed > 0:
		advice = fmt.Sprintf("run %s: %d batch(es) failed; `producer requeue --run-id %s` sends them back", st.RunID, st.Failed, st.RunID)
	case st.Lost > 0:
		advice = fmt.Sprintf("run %s: %d batch(es) lost; %s", st.RunID, st.Lost, requeueAdvice(st.RunID, isRandom(st.Input), ""))
	default:
		return nil
	}
	if len(st.Totals.Paused) > 0 {
		// Requeued batches would wait on the paused queue: say so with
		// the advice (a queue removed while paused stays paused).
		advice += "; but " + progress.PausedMessage(st.Totals.Paused)
	}
	return errors.New(advice)
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
	if len(t.Paused) > 0 {
		fmt.Fprintln(w, progress.PausedMessage(t.Paused))
	}
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
