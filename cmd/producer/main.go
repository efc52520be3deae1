// Command producer enqueues integers into Redis in batches, one asynq task per
// batch, and can wait for their packed bit arrays and write them out.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"bitqueue/internal/base"
	"bitqueue/internal/cli"
	"bitqueue/internal/input"
	"bitqueue/internal/logging"
	"bitqueue/internal/progress"
	"bitqueue/internal/redisconn"
	"bitqueue/internal/runs"
	"bitqueue/internal/schedule"
)

func main() { cli.Main("producer", run) }

// subcommands are the producer's commands besides producing: each inspects
// or repairs runs (see help).
var subcommands = []string{"status", "requeue", "results", "list", "delete"}

// defaultQueue is the queue of the producer's batches unless --queue says
// otherwise: the workers' default too.
const defaultQueue = "bits"

type config struct {
	redisURL    string
	redisFrom   string // where --redis came from, for messages: the URL may hold a password
	redisWait   time.Duration
	queue       string
	prefix      string
	count       uint64
	max         uint64
	seed        uint64
	seedSet     bool
	input       string
	batchSize   int
	runID       string
	wait        bool
	timeout     time.Duration
	lostAfter   time.Duration
	out         string
	maxRetry    int
	taskTimeout time.Duration
	recordTTL   time.Duration
	concurrency int
	logFormat   string
	logLevel    string
	retention   time.Duration
	sched       scheduled
	shards      int
	json        bool
	redisOpts   redisconn.Options // TLS settings and passwords; PoolSize is set at Open
}

// help is what producer -h shows besides the flags.
var help = cli.Help{
	Synopsis: []string{
		"producer (--count N | --input FILE) [--wait [--out FILE]] [--json] [flags]   (prints the run id on stdout)",
		"producer --schedule SPEC (--count N | --input FILE) [flags]",
		"producer status --run-id ID [--json]",
		"producer requeue --run-id ID [--input FILE]",
		"producer results --run-id ID [--out FILE]",
		"producer list [--json]",
		"producer delete --run-id ID",
	},
	Commands: []cli.Command{
		{Name: "status", Summary: "how many batches of a run are done, pending, failed or lost (see producer status -h)"},
		{Name: "requeue", Summary: "send a run's failed batches back to their queue and enqueue its lost ones again (see producer requeue -h)"},
		{Name: "results", Summary: "write a run's rows, n<TAB>bits, in input order, from its results alone (see producer results -h)"},
		{Name: "list", Summary: "the runs Redis knows: id, created, batches done/total, state (see producer list -h)"},
		{Name: "delete", Summary: "remove a run's queued batches, results and record, keeping a tombstone (see producer delete -h)"},
	},
	Groups: []cli.Group{
		{Title: "Input", Flags: []string{"count", "max", "seed", "input", "batch-size"}},
		{Title: "Run", Flags: []string{"run-id", "json", "wait", "timeout", "lost-after", "out", "queue", "shards", "prefix", "max-retry", "task-timeout", "concurrency", "record-ttl", "retention"}},
		{Title: "Schedule", Flags: []string{"schedule", "tz", "name", "catch-up"}},
		{Title: "Redis", Flags: []string{"redis", "redis-wait", "redis-ca", "redis-tls-server-name"}},
		{Title: "Logging", Flags: []string{"log-format", "log-level"}},
	},
	Examples: []string{
		"producer --count 1000000 --wait",
		"producer --input numbers.txt --wait --out bits.tsv",
		"producer --schedule @hourly --name hourly --count 100000",
		"# flags may come before or after a subcommand",
		"producer --redis redis://10.0.0.5:6379/0 status --run-id ID",
	},
}

func parse(args []string, getenv func(string) string, stdout io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("producer", flag.ContinueOnError)
	fs.StringVar(&c.redisURL, "redis", redisconn.DefaultURL, redisconn.URLHelp)
	c.redisOpts.AddFlags(fs)
	fs.DurationVar(&c.redisWait, "redis-wait", 10*time.Second, "how long to wait for Redis to answer, at start-up and during an outage, before giving up")
	fs.StringVar(&c.queue, "queue", defaultQueue, "queue to enqueue batches on")
	fs.IntVar(&c.shards, "shards", 1, fmt.Sprintf("spread the batches over this many queues, <queue>-0 … <queue>-(N-1), by a hash of their task id, 1..%d; give the workers the same --shards", base.MaxShards))
	fs.StringVar(&c.prefix, "prefix", base.DefaultPrefix, "root of the result and run keys, as given to the workers")
	fs.Uint64Var(&c.count, "count", 0, fmt.Sprintf("enqueue this many random integers, 1..%d (exclusive with --input)", uint64(input.MaxCount)))
	fs.Uint64Var(&c.max, "max", 1<<20, "random integers are drawn uniformly from [0, max), max in 1..2^63")
	fs.Uint64Var(&c.seed, "seed", 0, "seed of the random integers (default: derived from the run id, so a re-run draws the same ones)")
	fs.StringVar(&c.input, "input", "", fmt.Sprintf("read decimal integers separated by whitespace from this file, - for stdin, at most %d (exclusive with --count); read once, into a private copy in $TMPDIR that every pass reads, so a later change to the file does not reach the run", uint64(input.MaxCount)))
	fs.IntVar(&c.batchSize, "batch-size", 1000, fmt.Sprintf("integers per batch, 1..%d", base.MaxBatch))
	fs.StringVar(&c.runID, "run-id", "", "id of the run, [A-Za-z0-9._-]{1,128}; re-running with the same id enqueues nothing twice (default: generated and logged)")
	fs.BoolVar(&c.wait, "wait", false, "wait until every batch of the run has its result, showing progress on stderr (done/total batches, integers/s, ETA: one line redrawn on a terminal, a line every 5s in a pipe or file, info lines with --log-format json) and warning when no worker has served the run's queues for 10s")
	fs.DurationVar(&c.timeout, "timeout", 0, "with --wait, give up after this long (0: no limit)")
	fs.StringVar(&c.out, "out", "", "with --wait, write \"<n>\\t<bitstring>\" per input integer, in input order, to this file (- for stdout): checked before anything is enqueued (its directory must be writable, and it must not be the input), written beside it and renamed over it once complete (a FIFO or a device: in place)")
	fs.BoolVar(&c.json, "json", false, "print a one-line JSON summary of the run on stdout (run_id, batches, integers, enqueued, already_queued, already_done, waited, seconds) instead of the run id alone")
	fs.DurationVar(&c.lostAfter, "lost-after", runs.DefaultLostAfter, "with --wait, when no batch got done for this long, look for lost batches (no result, no task) and exit 1 naming them")
	fs.IntVar(&c.maxRetry, "max-retry", 10, "retries of a failing batch before it is archived as failed, 0..100")
	fs.DurationVar(&c.taskTimeout, "task-timeout", time.Minute, "how long a worker may spend on one batch before it is cancelled and retried, 1s..24h")
	fs.IntVar(&c.concurrency, "concurrency", 8, "enqueues in flight at once, 1..256")
	fs.DurationVar(&c.recordTTL, "record-ttl", base.DefaultTTL, "how long the run's record, read by producer status and requeue, is kept (at least 1s; match the workers' --result-ttl)")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	addScheduleFlags(fs, &c)
	env := cli.VarsOf(fs, "BITQUEUE_", map[string]string{"redis": "BITQUEUE_REDIS_URL", "concurrency": "BITQUEUE_PRODUCER_CONCURRENCY", "timeout": "BITQUEUE_WAIT_TIMEOUT", "name": "BITQUEUE_SCHEDULE_NAME"})
	if err := cli.Parse(fs, args, getenv, env); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			cli.PrintHelp(stdout, fs, help, env)
		}
		return c, cli.DidYouMean(err, subcommands...)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	c.seedSet = set["seed"]
	c.redisOpts.ReadSecrets(getenv)
	c.redisFrom = cli.Origin(fs, "redis")
	if err := check(&c, fs, set); err != nil {
		return c, err
	}
	return c, nil
}

// check validates c after parsing. Each message names the value as the user
// gave it, flag or environment variable (cli.Source), and its allowed range.
func check(c *config, fs *flag.FlagSet, set map[string]bool) error {
	src := func(name string) string { return cli.Source(fs, name) }
	if base.CheckShards(c.shards) != nil {
		return cli.Usagef("%s out of range [1, %d]", src("shards"), base.MaxShards)
	}
	if c.shards > 1 && c.sched.spec != "" {
		return cli.Usagef("%s with %s is not supported", src("shards"), src("schedule"))
	}
	if err := c.sched.check(c, fs, set); err != nil {
		return err
	}
	switch {
	case set["count"] && c.input != "":
		return cli.Usagef("give exactly one of --count N and --input FILE, not both: %s and %s", src("count"), src("input"))
	case !set["count"] && c.input == "":
		return cli.Usagef("give exactly one of --count N and --input FILE (or BITQUEUE_COUNT, BITQUEUE_INPUT): neither is set")
	case set["count"] && (c.count < 1 || c.count > input.MaxCount):
		return cli.Usagef("%s out of range [1, %d]", src("count"), uint64(input.MaxCount))
	case c.max < 1 || c.max > 1<<63:
		return cli.Usagef("%s out of range [1, 2^63]", src("max"))
	case c.input != "" && (set["max"] || set["seed"]):
		return cli.Usagef("%s applies to --count, not --input", src(firstSet(set, "max", "seed")))
	case c.batchSize < 1 || c.batchSize > base.MaxBatch:
		return cli.Usagef("%s out of range [1, %d]", src("batch-size"), base.MaxBatch)
	case c.lostAfter <= 0:
		return cli.Usagef("%s must be positive", src("lost-after"))
	case c.timeout < 0:
		return cli.Usagef("%s must not be negative", src("timeout"))
	case !c.wait && c.out != "":
		return cli.Usagef("%s needs --wait", src("out"))
	case !c.wait && c.timeout > 0:
		return cli.Usagef("%s needs --wait", src("timeout"))
	case !c.wait && set["lost-after"]:
		return cli.Usagef("%s needs --wait", src("lost-after"))
	case c.json && c.out == "-":
		return cli.Usagef("%s and %s both write to stdout; give --out a file", named(fs, "json"), src("out"))
	case c.maxRetry < 0 || c.maxRetry > 100:
		return cli.Usagef("%s out of range [0, 100]", src("max-retry"))
	case c.taskTimeout < time.Second || c.taskTimeout > 24*time.Hour:
		return cli.Usagef("%s out of range [1s, 24h]", src("task-timeout"))
	case c.concurrency < 1 || c.concurrency > 256:
		return cli.Usagef("%s out of range [1, 256]", src("concurrency"))
	case c.recordTTL < time.Second:
		return cli.Usagef("%s must be at least 1s", src("record-ttl"))
	case c.redisWait <= 0:
		return cli.Usagef("%s must be positive", src("redis-wait"))
	case base.CheckPrefix(c.prefix) != nil:
		return cli.Usagef("%s must be non-empty without spaces", src("prefix"))
	case c.logFormat != "text" && c.logFormat != "json":
		return cli.Usagef("%s: want text or json", src("log-format"))
	}
	if _, err := logging.New(io.Discard, c.logFormat, c.logLevel); err != nil {
		return cli.Usagef("%s: want debug, info, warn or error", src("log-level"))
	}
	if err := base.CheckQueue(c.queue); err != nil {
		return cli.Usagef("%s %v", src("queue"), err)
	}
	if c.runID != "" {
		if err := base.ValidateRunID(c.runID); err != nil {
			why := strings.TrimLeft(strings.TrimPrefix(err.Error(), fmt.Sprintf("run id %q", c.runID)), ": ")
			return cli.Usagef("%s: %s", src("run-id"), why)
		}
	}
	return nil
}

// named names a flag as the user gave it, as cli.Source does, but a switch
// given on the command line as plain --name.
func named(fs *flag.FlagSet, name string) string {
	s := cli.Source(fs, name)
	if b, ok := fs.Lookup(name).Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() && strings.HasPrefix(s, "--") {
		return "--" + name
	}
	return s
}

// firstSet returns the first of names that was given, flag or variable, or
// the first of names when none was.
func firstSet(set map[string]bool, names ...string) string {
	for _, n := range names {
		if set[n] {
			return n
		}
	}
	return names[0]
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	args = cli.Subcommand(args, subcommands...)
	if len(args) > 0 {
		switch args[0] {
		case "status":
			return runStatus(ctx, args[1:], getenv, stdout, stderr)
		case "requeue":
			return runRequeue(ctx, args[1:], getenv, stdout, stderr)
		case "results":
			return runResults(ctx, args[1:], getenv, stdout, stderr)
		case "list":
			return runList(ctx, args[1:], getenv, stdout, stderr)
		case "delete":
			return runDelete(ctx, args[1:], getenv, stdout, stderr)
		}
	}
	c, err := parse(args, getenv, stdout)
	if err != nil {
		return err
	}
	stderr = progress.Stderr(stderr, c.logFormat, getenv) // on a terminal, --wait's progress line stays below the logs
	log, err := c.redisSetup(0).Logger(stderr)
	if err != nil {
		return err
	}
	if c.sched.spec != "" {
		return runScheduled(ctx, c, log, schedule.SystemClock{})
	}
	return runOnce(ctx, c, log, stdout, stderr)
}
