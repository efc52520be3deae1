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

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"bitqueue/internal/cli"
	"bitqueue/internal/layout"
	"bitqueue/internal/redisconn"
	"bitqueue/internal/results"
	"bitqueue/internal/runs"
	"bitqueue/internal/shard"
	"bitqueue/internal/tasks"
)

// inspectEnv are the environment fallbacks of status and requeue: the
// producer's, minus those that only enqueueing uses. The queue is not among
// them: it comes from the run's record unless --queue is given.
var inspectEnv = map[string]string{
	"redis":                 "REDIS_URL",
	"redis-ca":              redisconn.EnvCA,
	"redis-tls-server-name": redisconn.EnvServerName,
	"redis-wait":            "BITQUEUE_REDIS_WAIT",
	"prefix":                "BITQUEUE_PREFIX",
	"log-format":            "BITQUEUE_LOG_FORMAT",
	"log-level":             "BITQUEUE_LOG_LEVEL",
}

// inspectConfig is the configuration of status, requeue, results, list and
// delete.
type inspectConfig struct {
	redisURL  string
	redisOpts redisconn.Options // TLS settings and passwords
	redisWait time.Duration
	prefix    string
	queue     string
	runID     string
	json      bool
	logFormat string
	logLevel  string
	out       string        // results: where to write
	recordTTL time.Duration // delete: how long the tombstone lives
	requeue   requeueFlags  // requeue: the input of lost batches, their task options
}

func parseInspect(cmd string, args []string, getenv func(string) string, stdout io.Writer) (inspectConfig, error) {
	var c inspectConfig
	fs := flag.NewFlagSet("producer "+cmd, flag.ContinueOnError)
	usage := "producer " + cmd + " --run-id ID [flags]"
	if cmd == "list" {
		usage = "producer list [flags]"
	} else {
		fs.StringVar(&c.runID, "run-id", "", "id of the run (required)")
	}
	switch cmd {
	case "results":
		fs.StringVar(&c.out, "out", "-", "write \"<n>\\t<bitstring>\" per integer of the run, in order, to this file (- for stdout); written beside it and renamed when complete")
	case "delete":
		fs.DurationVar(&c.recordTTL, "record-ttl", layout.DefaultTTL, "how long the deleted run's record is kept, refusing its run id (at least 1s)")
	case "requeue":
		c.requeue.addFlags(fs)
	}
	fs.StringVar(&c.redisURL, "redis", redisconn.DefaultURL, redisconn.URLHelp)
	c.redisOpts.AddFlags(fs)
	fs.DurationVar(&c.redisWait, "redis-wait", 10*time.Second, "how long to wait for Redis to answer before giving up")
	fs.StringVar(&c.prefix, "prefix", layout.DefaultPrefix, "root of the result and run keys, as given to the producer")
	fs.StringVar(&c.queue, "queue", "", "queue of the run's batches (default: the queue in the run's record)")
	fs.BoolVar(&c.json, "json", false, "print one JSON object instead of text")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	if err := cli.Parse(fs, args, getenv, inspectEnv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			cli.PrintUsage(stdout, fs, usage, inspectEnv)
		}
		return c, err
	}
	c.redisOpts.ReadSecrets(getenv)
	switch {
	case c.runID == "" && cmd != "list":
		return c, cli.Usagef("--run-id is required")
	case cmd == "results" && c.out == "":
		return c, cli.Usagef("--out must name a file, or - for stdout")
	case cmd == "delete" && c.recordTTL < time.Second:
		return c, cli.Usagef("--record-ttl %s must be at least 1s", c.recordTTL)
	case c.redisWait <= 0:
		return c, cli.Usagef("--redis-wait %s must be positive", c.redisWait)
	case c.prefix == "" || strings.ContainsAny(c.prefix, " \t\r\n"):
		return c, cli.Usagef("--prefix %q must be non-empty without spaces", c.prefix)
	case strings.ContainsAny(c.queue, " \t\r\n"):
		return c, cli.Usagef("--queue %q must not hold spaces", c.queue)
	}
	if cmd == "requeue" {
		if err := c.requeue.check(); err != nil {
			return c, err
		}
	}
	if cmd == "list" {
		return c, nil
	}
	if err := tasks.ValidateRunID(c.runID); err != nil {
		return c, cli.Usagef("--run-id: %v", err)
	}
	return c, nil
}

// inspection is what status and requeue work with: Redis, the run's record
// and asynq's view of its queue.
type inspection struct {
	rdb   redis.UniversalClient
	insp  *asynq.Inspector
	store *results.Store
	rec   runs.Record
	log   *slog.Logger
}

// openInspection connects to Redis and reads the run's record (none for
// list). The caller closes rdb.
func openInspection(ctx context.Context, cmd string, args []string, getenv func(string) string, stdout, stderr io.Writer) (inspectConfig, *inspection, error) {
	c, err := parseInspect(cmd, args, getenv, stdout)
	if err != nil {
		return c, nil, err
	}
	rdb, log, err := redisconn.Setup{
		URL: c.redisURL, Options: c.redisOpts, Wait: c.redisWait, LogFormat: c.logFormat, LogLevel: c.logLevel,
		PoolSize: 16, // runs.GetStatus looks several tasks up at once
	}.Start(ctx, stderr)
	if err != nil {
		return c, nil, err
	}
	in := &inspection{
		rdb:   rdb,
		insp:  asynq.NewInspectorFromRedisClient(rdb),
		store: &results.Store{Client: rdb, Prefix: c.prefix},
		log:   log,
	}
	if cmd == "list" {
		return c, in, nil
	}
	if in.rec, err = runs.LoadRecord(ctx, rdb, c.prefix, c.runID); err != nil {
		rdb.Close()
		return c, nil, err
	}
	if c.queue != "" {
		in.rec.Queue = c.queue
	}
	return c, in, nil
}

// statusJSON is the output of `producer status --json`.
type statusJSON struct {
	RunID     string     `json:"run_id"`
	Queue     string     `json:"queue"`
	Shards    int        `json:"shards"`
	Batches   int        `json:"batches"`
	Integers  uint64     `json:"integers"`
	BatchSize int        `json:"batch_size"`
	Input     string     `json:"input"`
	State     string     `json:"state,omitempty"`
	Created   time.Time  `json:"created"`
	Updated   time.Time  `json:"updated"`
	Done      int        `json:"done"`
	Pending   int        `json:"pending"`
	Active    int        `json:"active"`
	Retry     int        `json:"retry"`
	Scheduled int        `json:"scheduled"`
	Failed    int        `json:"failed"`
	Lost      int        `json:"lost"`
	FailedIDs []string   `json:"failed_ids"`
	LostIDs   []string   `json:"lost_ids"`
	LastError string     `json:"last_error,omitempty"`
	Totals    totalsJSON `json:"queue_totals"`
}

// totalsJSON is the state of the run's whole queue, summed over its shards.
type totalsJSON struct {
	Pending        int `json:"pending"`
	Active         int `json:"active"`
	Scheduled      int `json:"scheduled"`
	Retry          int `json:"retry"`
	Archived       int `json:"archived"`
	Completed      int `json:"completed"`
	ProcessedTotal int `json:"processed_total"`
	FailedTotal    int `json:"failed_total"`
	Workers        int `json:"workers"`
}

// runStatus is `producer status`: it prints how many batches of a run are
// done, pending, failed or lost, and the totals of the run's queue. It
// returns an error (exit 1) when the run has failed or lost batches, as well
// as when the run is unknown or Redis fails.
func runStatus(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c, in, err := openInspection(ctx, "status", args, getenv, stdout, stderr)
	if err != nil {
		return err
	}
	defer in.rdb.Close()
	st, err := runs.GetStatus(ctx, in.store, in.insp, in.rec)
	if err != nil {
		return err
	}
	totals, err := queueTotals(in.insp, shard.Queues(in.rec.Queue, in.rec.Shards))
	if err != nil {
		return err
	}
	if c.json {
		out := statusJSON{
			RunID: st.RunID, Queue: st.Queue, Shards: st.Shards, Batches: st.Batches, Integers: st.Integers, BatchSize: st.BatchSize,
			Input: st.Input, State: st.State,
			Created: st.Created, Updated: st.Updated,
			Done: st.Done, Pending: st.Pending, Active: st.Active, Retry: st.Retry, Scheduled: st.Scheduled,
			Failed: st.Failed, Lost: st.Lost, FailedIDs: nonNil(st.FailedIDs), LostIDs: nonNil(st.LostIDs),
			LastError: st.LastError, Totals: totals,
		}
		enc := json.NewEncoder(stdout)
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else {
		printStatus(stdout, st, totals)
	}
	switch {
	case st.Failed > 0 && st.Lost > 0:
		return fmt.Errorf("run %s: %d batch(es) failed and %d lost; %s", st.RunID, st.Failed, st.Lost, requeueAdvice(st.RunID, isRandom(st.Input), ""))
	case st.Failed > 0:
		return fmt.Errorf("run %s: %d batch(es) failed; `producer requeue --run-id %s` sends them back", st.RunID, st.Failed, st.RunID)
	case st.Lost > 0:
		return fmt.Errorf("run %s: %d batch(es) lost; %s", st.RunID, st.Lost, requeueAdvice(st.RunID, isRandom(st.Input), ""))
	}
	return nil
}

func printStatus(w io.Writer, st runs.Status, t totalsJSON) {
	queue := st.Queue
	if st.Shards > 1 {
		queue = fmt.Sprintf("%s (%d shards)", st.Queue, st.Shards)
	}
	fmt.Fprintf(w, "run %s on queue %s: %d batches, %d integers (batch size %d), enqueued %s\n",
		st.RunID, queue, st.Batches, st.Integers, st.BatchSize, st.Created.UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "  input    %s\n", cmp.Or(st.Input, "(not recorded)"))
	if st.State != "" {
		fmt.Fprintf(w, "  state    %s\n", st.State)
	}
	fmt.Fprintf(w, "  done     %d\n", st.Done)
	fmt.Fprintf(w, "  pending  %d (active %d, retry %d, scheduled %d)\n", st.Pending, st.Active, st.Retry, st.Scheduled)
	fmt.Fprintf(w, "  failed   %d%s\n", st.Failed, listed(st.FailedIDs, st.Failed))
	if st.LastError != "" {
		fmt.Fprintf(w, "           last error: %s\n", st.LastError)
	}
	fmt.Fprintf(w, "  lost     %d%s\n", st.Lost, listed(st.LostIDs, st.Lost))
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

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// queueTotals sums the state of queues and counts the workers serving any of
// them.
func queueTotals(insp *asynq.Inspector, queues []string) (totalsJSON, error) {
	var t totalsJSON
	for _, q := range queues {
		info, err := shard.QueueInfo(insp, q)
		if err != nil {
			return totalsJSON{}, err
		}
		t.Pending += info.Pending
		t.Active += info.Active
		t.Scheduled += info.Scheduled
		t.Retry += info.Retry
		t.Archived += info.Archived
		t.Completed += info.Completed
		t.ProcessedTotal += info.ProcessedTotal
		t.FailedTotal += info.FailedTotal
	}
	servers, err := insp.Servers()
	if err != nil {
		return totalsJSON{}, fmt.Errorf("list workers: %w", err)
	}
	for _, s := range servers {
		for _, q := range queues {
			if _, ok := s.Queues[q]; ok {
				t.Workers++
				break
			}
		}
	}
	return t, nil
}
