package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"bitqueue/internal/base"
	"bitqueue/internal/cli"
	"bitqueue/internal/input"
	"bitqueue/internal/redisconn"
	"bitqueue/internal/runs"
)

// command is how the producer's flags read their variables: BITQUEUE_ and
// the flag's name, unless a var tag says otherwise where one name would
// mean two things (--concurrency is BITQUEUE_PRODUCER_CONCURRENCY, since
// BITQUEUE_CONCURRENCY is the workers').
var command = cli.Command{
	Name:   "producer",
	Prefix: "BITQUEUE_",
	Vars: map[string]string{
		"default_queue":   defaultQueue,
		"max_count":       strconv.FormatUint(uint64(input.MaxCount), 10),
		"max_batch":       strconv.Itoa(base.MaxBatch),
		"max_shards":      strconv.Itoa(base.MaxShards),
		"max_run_id":      strconv.Itoa(base.MaxRunID),
		"max_name":        strconv.Itoa(base.MaxRunID - tickTimeLen),
		"max_retention":   short(maxRetention),
		"ttl":             base.DefaultTTL.String(),
		"lost_after":      runs.DefaultLostAfter.String(),
		"schedule_name":   defaultName,
		"catch_up":        strconv.Itoa(defaultCatchUp),
		"max_catch_up":    strconv.Itoa(maxCatchUp),
		"redis_wait":      "10s",
		"redis_wait_help": "how long to wait for Redis to answer, at start-up and during an outage, before giving up",
	},
}

// flags are the producer's command line: the flags of producing itself, of
// each subcommand, and those all of them take (Redis, --prefix, logging).
type flags struct {
	Redis  cli.Redis     `embed:"" group:"Redis"`
	Wait   cli.RedisWait `embed:"" group:"Redis"`
	Prefix cli.Prefix    `embed:"" group:"Run"`
	Log    cli.Logging   `embed:"" group:"Logging"`

	Produce produceFlags `cmd:"" default:"withargs" hidden:""`
	Status  statusFlags  `cmd:"" help:"how many batches of a run are done, pending, failed or lost (see producer status -h)"`
	Requeue requeueFlags `cmd:"" help:"send a run's failed batches back to their queue and enqueue its lost ones again (see producer requeue -h)"`
	Results resultsFlags `cmd:"" help:"write a run's rows, n<TAB>bits, in input order, from its results alone (see producer results -h)"`
	List    listFlags    `cmd:"" help:"the runs Redis knows: id, created, batches done/total, state (see producer list -h)"`
	Delete  deleteFlags  `cmd:"" help:"remove a run's queued batches, results and record, keeping a tombstone (see producer delete -h)"`
}

// produceFlags are the flags of producing: a one-shot run, or one run per
// tick of --schedule.
type produceFlags struct {
	Count     uint64 `name:"count" group:"Input" help:"enqueue this many random integers, 1..${max_count} (exclusive with --input)"`
	Max       uint64 `name:"max" default:"1048576" group:"Input" help:"random integers are drawn uniformly from [0, max), max in 1..2^63"`
	Seed      uint64 `name:"seed" group:"Input" help:"seed of the random integers (default: derived from the run id, so a re-run draws the same ones)"`
	Input     string `name:"input" placeholder:"file" group:"Input" help:"read decimal integers separated by whitespace from this file, - for stdin, at most ${max_count} (exclusive with --count); read once, into a private copy in $TMPDIR that every pass reads, so a later change to the file does not reach the run"`
	BatchSize int    `name:"batch-size" default:"1000" group:"Input" help:"integers per batch, 1..${max_batch}"`

	RunID       string        `name:"run-id" placeholder:"id" group:"Run" help:"id of the run, [A-Za-z0-9._-]{1,${max_run_id}}; re-running with the same id enqueues nothing twice (default: generated and logged)"`
	JSON        bool          `name:"json" group:"Run" help:"print a one-line JSON summary of the run on stdout (run_id, batches, integers, enqueued, already_queued, already_done, waited, seconds) instead of the run id alone"`
	Wait        bool          `name:"wait" group:"Run" help:"wait until every batch of the run has its result, showing progress on stderr (done/total batches, integers/s, ETA: one line redrawn on a terminal, a line every 5s in a pipe or file, info lines with --log-format json) and warning when no worker has served the run's queues for 10s"`
	Timeout     time.Duration `name:"timeout" var:"BITQUEUE_WAIT_TIMEOUT" default:"0s" group:"Run" help:"with --wait, give up after this long (0: no limit)"`
	LostAfter   time.Duration `name:"lost-after" default:"${lost_after}" group:"Run" help:"with --wait, when no batch got done for this long, look for lost batches (no result, no task) and exit 1 naming them"`
	Out         string        `name:"out" placeholder:"file" group:"Run" help:"with --wait, write \"<n>\\t<bitstring>\" per input integer, in input order, to this file (- for stdout): checked before anything is enqueued (its directory must be writable, and it must not be the input), written beside it and renamed over it once complete (a FIFO or a device: in place)"`
	Queue       string        `name:"queue" default:"${default_queue}" placeholder:"queue" group:"Run" help:"queue to enqueue batches on"`
	Shards      int           `name:"shards" default:"1" group:"Run" help:"spread the batches over this many queues, <queue>-0 … <queue>-(N-1), by a hash of their task id, 1..${max_shards}; give the workers the same --shards"`
	MaxRetry    int           `name:"max-retry" default:"10" group:"Run" help:"retries of a failing batch before it is archived as failed, 0..100"`
	TaskTimeout time.Duration `name:"task-timeout" default:"1m" group:"Run" help:"how long a worker may spend on one batch before it is cancelled and retried, 1s..24h"`
	Concurrency int           `name:"concurrency" var:"BITQUEUE_PRODUCER_CONCURRENCY" default:"8" group:"Run" help:"enqueues in flight at once, 1..256"`
	RecordTTL   time.Duration `name:"record-ttl" default:"${ttl}" group:"Run" help:"how long the run's record, read by producer status and requeue, is kept (at least 1s; match the workers' --result-ttl)"`
	Retention   time.Duration `name:"retention" default:"0s" group:"Run" help:"keep each finished batch's task this long so that its id still refuses a second enqueue, 0..${max_retention} (default: none for a one-shot run; with --schedule, twice the time to the next tick, 1m..24h, and at least 1m when given)"`

	Schedule string `name:"schedule" placeholder:"spec" group:"Schedule" help:"produce one run per tick until SIGTERM: a 5-field cron spec (minute hour day-of-month month day-of-week), @hourly, @daily, … or @every D; ticks follow the clock, not the start"`
	TZ       string `name:"tz" placeholder:"zone" group:"Schedule" help:"with --schedule, the IANA time zone its times are read in, such as Europe/Paris (default UTC)"`
	Name     string `name:"name" var:"BITQUEUE_SCHEDULE_NAME" default:"${schedule_name}" group:"Schedule" help:"with --schedule, start of each tick's run id <name>-<UTC time>, such as nightly-20261129T1200Z; [A-Za-z0-9._-]{1,${max_name}}"`
	CatchUp  int    `name:"catch-up" default:"${catch_up}" group:"Schedule" help:"with --schedule, on start produce the last N ticks already passed that no replica marked produced (one cut short by a stop is not), oldest first, 0..${max_catch_up}"`
}

// runFlags are the flags of the subcommands that read one run. --queue,
// which checks the queue in the run's record rather than naming where to
// enqueue, has a variable of its own, BITQUEUE_RUN_QUEUE.
type runFlags struct {
	RunID string `name:"run-id" placeholder:"id" group:"Run" help:"id of the run (required)"`
	Queue string `name:"queue" var:"BITQUEUE_RUN_QUEUE" placeholder:"queue" group:"Run" help:"queue of the run's batches (default: the queue in the run's record)"`
}

type statusFlags struct {
	Run  runFlags `embed:""`
	JSON bool     `name:"json" group:"Run" help:"print one JSON object instead of text"`
}

type requeueFlags struct {
	Run         runFlags      `embed:""`
	Input       string        `name:"input" placeholder:"file" group:"Run" help:"the run's input, for a run of a file or stdin (- for stdin): lost batches are enqueued again from it; its SHA-256 must be the one the run recorded (a random run needs none: its integers are drawn again from the recorded seed)"`
	MaxRetry    int           `name:"max-retry" default:"10" group:"Run" help:"retries of a lost batch enqueued again before it is archived as failed, 0..100"`
	TaskTimeout time.Duration `name:"task-timeout" default:"1m" group:"Run" help:"how long a worker may spend on a lost batch enqueued again, 1s..24h"`
	JSON        bool          `name:"json" group:"Run" help:"print one JSON object instead of text"`
}

// resultsFlags has no --json: the rows are text.
type resultsFlags struct {
	Run runFlags `embed:""`
	Out string   `name:"out" default:"-" placeholder:"file" group:"Run" help:"write \"<n>\\t<bitstring>\" per integer of the run, in order, to this file (- for stdout): checked before Redis is contacted, written beside it and renamed when complete (a FIFO or a device: in place)"`
}

// listFlags has no --run-id and no --queue: list reads every run, each
// with the queue in its record.
type listFlags struct {
	JSON bool `name:"json" group:"Run" help:"print one JSON object per run instead of a table"`
}

type deleteFlags struct {
	Run       runFlags      `embed:""`
	RecordTTL time.Duration `name:"record-ttl" default:"${ttl}" group:"Run" help:"how long the deleted run's record is kept, refusing its run id (at least 1s)"`
	JSON      bool          `name:"json" group:"Run" help:"print one JSON object instead of text"`
}

func (flags) Usage() cli.Usage {
	return cli.Usage{
		Synopsis: []string{
			"producer (--count N | --input FILE) [--wait [--out FILE]] [--json] [flags]   (prints the run id on stdout)",
			"producer --schedule SPEC (--count N | --input FILE) [flags]",
			"producer status --run-id ID [--json]",
			"producer requeue --run-id ID [--input FILE]",
			"producer results --run-id ID [--out FILE]",
			"producer list [--json]",
			"producer delete --run-id ID",
		},
		Examples: []string{
			"producer --count 1000000 --wait",
			"producer --input numbers.txt --wait --out bits.tsv",
			"producer --schedule @hourly --name hourly --count 100000",
			"# flags may come before or after a subcommand",
			"producer --redis redis://10.0.0.5:6379/0 status --run-id ID",
		},
	}
}

func (statusFlags) Usage() cli.Usage {
	return cli.Usage{
		Synopsis: []string{"producer status --run-id ID [--json] [flags]   (exit 1 when batches failed or were lost)"},
		Examples: []string{
			"producer status --run-id 20261201T120000Z-1a2b3c4d",
			"producer status --run-id nightly-20261201T0000Z --json",
			"# flags may come before or after the subcommand",
			"producer --redis redis://10.0.0.5:6379/0 status --run-id ID",
		},
	}
}

func (requeueFlags) Usage() cli.Usage {
	return cli.Usage{
		Synopsis: []string{"producer requeue --run-id ID [--input FILE] [--json] [flags]"},
		Examples: []string{
			"producer requeue --run-id ID",
			"# requeue only when status finds failed batches",
			"producer status --run-id ID || producer requeue --run-id ID",
		},
	}
}

func (resultsFlags) Usage() cli.Usage {
	return cli.Usage{
		Synopsis: []string{"producer results --run-id ID [--out FILE] [flags]"},
		Examples: []string{
			"producer results --run-id ID --out bits.tsv",
			"producer results --run-id ID | head",
		},
	}
}

func (listFlags) Usage() cli.Usage {
	return cli.Usage{
		Synopsis: []string{"producer list [--json] [flags]"},
		Examples: []string{
			"producer list",
			"BITQUEUE_PREFIX=staging producer list --json",
		},
	}
}

func (deleteFlags) Usage() cli.Usage {
	return cli.Usage{
		Synopsis: []string{"producer delete --run-id ID [--json] [flags]"},
		Examples: []string{
			"producer delete --run-id ID",
			"# refuse the deleted run's id for a week",
			"producer delete --run-id ID --record-ttl 168h",
		},
	}
}

// parseArgs parses the producer's command line, then the environment, into
// its flags; p.Command is the subcommand given, "" for producing.
func parseArgs(args []string, getenv func(string) string, stdout io.Writer) (*flags, *cli.Parsed, error) {
	var f flags
	p, err := cli.Parse(command, &f, args, getenv, stdout)
	return &f, p, err
}

// parse parses and checks the command line of producing (see config).
func parse(args []string, getenv func(string) string, stdout io.Writer) (config, error) {
	f, p, err := parseArgs(args, getenv, stdout)
	if err != nil {
		return config{}, err
	}
	if p.Command != "" {
		return config{}, cli.Usagef("producer %s: not a run to produce", p.Command)
	}
	return f.config(p, getenv)
}

// config returns the configuration of producing that f describes, checked;
// each message names a value as the user gave it, flag or environment
// variable (p.Source), and its allowed range.
func (f *flags) config(p *cli.Parsed, getenv func(string) string) (config, error) {
	g := f.Produce
	c := config{
		redisURL:    f.Redis.URL,
		redisFrom:   p.Origin("redis"),
		redisWait:   f.Wait.Wait,
		redisOpts:   f.Redis.Options(getenv),
		prefix:      f.Prefix.Prefix,
		logFormat:   f.Log.Format,
		logLevel:    f.Log.Level,
		queue:       g.Queue,
		count:       g.Count,
		max:         g.Max,
		seed:        g.Seed,
		seedSet:     p.Given("seed"),
		input:       g.Input,
		batchSize:   g.BatchSize,
		runID:       g.RunID,
		wait:        g.Wait,
		timeout:     g.Timeout,
		lostAfter:   g.LostAfter,
		out:         g.Out,
		maxRetry:    g.MaxRetry,
		taskTimeout: g.TaskTimeout,
		recordTTL:   g.RecordTTL,
		concurrency: g.Concurrency,
		retention:   g.Retention,
		sched:       scheduled{spec: g.Schedule, tz: g.TZ, name: g.Name, catchUp: g.CatchUp},
		shards:      g.Shards,
		json:        g.JSON,
	}
	return c, check(&c, p, f)
}

// check validates c, parsed by p from f.
func check(c *config, p *cli.Parsed, f *flags) error {
	src := p.Source
	if base.CheckShards(c.shards) != nil {
		return cli.Usagef("%s out of range [1, %d]", src("shards"), base.MaxShards)
	}
	if c.shards > 1 && c.sched.spec != "" {
		return cli.Usagef("%s with %s is not supported", src("shards"), src("schedule"))
	}
	if err := c.sched.check(c, p); err != nil {
		return err
	}
	counted := p.Given("count")
	switch {
	case counted && c.input != "":
		return cli.Usagef("give exactly one of --count N and --input FILE, not both: %s and %s", src("count"), src("input"))
	case !counted && c.input == "":
		return cli.Usagef("give exactly one of --count N and --input FILE (or BITQUEUE_COUNT, BITQUEUE_INPUT): neither is set")
	case counted && (c.count < 1 || c.count > input.MaxCount):
		return cli.Usagef("%s out of range [1, %d]", src("count"), uint64(input.MaxCount))
	case c.max < 1 || c.max > 1<<63:
		return cli.Usagef("%s out of range [1, 2^63]", src("max"))
	case c.input != "" && (p.Given("max") || p.Given("seed")):
		return cli.Usagef("%s applies to --count, not --input", src(firstGiven(p, "max", "seed")))
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
	case !c.wait && p.Given("lost-after"):
		return cli.Usagef("%s needs --wait", src("lost-after"))
	case c.json && c.out == "-":
		return cli.Usagef("%s and %s both write to stdout; give --out a file", src("json"), src("out"))
	case c.maxRetry < 0 || c.maxRetry > 100:
		return cli.Usagef("%s out of range [0, 100]", src("max-retry"))
	case c.taskTimeout < time.Second || c.taskTimeout > 24*time.Hour:
		return cli.Usagef("%s out of range [1s, 24h]", src("task-timeout"))
	case c.concurrency < 1 || c.concurrency > 256:
		return cli.Usagef("%s out of range [1, 256]", src("concurrency"))
	case c.recordTTL < time.Second:
		return cli.Usagef("%s must be at least 1s", src("record-ttl"))
	}
	if err := firstErr(f.Wait.Check(p), f.Prefix.Check(p), f.Log.Check(p)); err != nil {
		return err
	}
	if err := base.CheckQueue(c.queue); err != nil {
		return cli.Usagef("%s %v", src("queue"), err)
	}
	if c.runID != "" {
		return checkRunID(c.runID, p)
	}
	return nil
}

// firstGiven returns the first of names that was given, flag or variable,
// or the first of names when none was.
func firstGiven(p *cli.Parsed, names ...string) string {
	for _, n := range names {
		if p.Given(n) {
			return n
		}
	}
	return names[0]
}

// firstErr returns the first error that is not nil.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// checkRunID refuses a --run-id that is not one, naming it as given.
func checkRunID(id string, p *cli.Parsed) error {
	if err := base.ValidateRunID(id); err != nil {
		why := strings.TrimLeft(strings.TrimPrefix(err.Error(), fmt.Sprintf("run id %q", id)), ": ")
		return cli.Usagef("%s: %s", p.Source("run-id"), why)
	}
	return nil
}

// inspectConfig is the configuration of status, requeue, results, list and
// delete.
type inspectConfig struct {
	redisURL  string
	redisFrom string            // where --redis came from, for messages: the URL may hold a password
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
	requeue   requeueConfig // requeue: the input of lost batches, their task options
}

// requeueConfig is what requeue alone takes: where the integers of lost
// batches come from, and the options of the tasks it enqueues again.
type requeueConfig struct {
	input       string
	maxRetry    int
	taskTimeout time.Duration
}

// parseInspect parses and checks the command line of the inspect
// subcommand cmd, args being what follows cmd.
func parseInspect(cmd string, args []string, getenv func(string) string, stdout io.Writer) (inspectConfig, error) {
	f, p, err := parseArgs(append([]string{cmd}, args...), getenv, stdout)
	if err != nil {
		return inspectConfig{}, err
	}
	return f.inspectConfig(p, getenv)
}

// inspectConfig returns the configuration of the inspect subcommand
// p.Command that f describes, checked; each message names a value as the
// user gave it (p.Source).
func (f *flags) inspectConfig(p *cli.Parsed, getenv func(string) string) (inspectConfig, error) {
	c := inspectConfig{
		redisURL:  f.Redis.URL,
		redisFrom: p.Origin("redis"),
		redisOpts: f.Redis.Options(getenv),
		redisWait: f.Wait.Wait,
		prefix:    f.Prefix.Prefix,
		logFormat: f.Log.Format,
		logLevel:  f.Log.Level,
	}
	var run runFlags
	switch p.Command {
	case "status":
		run, c.json = f.Status.Run, f.Status.JSON
	case "requeue":
		r := f.Requeue
		run, c.json = r.Run, r.JSON
		c.requeue = requeueConfig{input: r.Input, maxRetry: r.MaxRetry, taskTimeout: r.TaskTimeout}
	case "results":
		run, c.out = f.Results.Run, f.Results.Out
	case "list":
		c.json = f.List.JSON
	case "delete":
		run, c.json, c.recordTTL = f.Delete.Run, f.Delete.JSON, f.Delete.RecordTTL
	default:
		return c, cli.Usagef("producer %q: not a subcommand that reads runs", p.Command)
	}
	if err := firstErr(f.Wait.Check(p), f.Prefix.Check(p), f.Log.Check(p)); err != nil {
		return c, err
	}
	if p.Command == "list" {
		return c, nil
	}
	c.runID, c.queue, c.queueFrom = run.RunID, run.Queue, p.Source("queue")
	switch {
	case c.runID == "":
		return c, cli.Usagef("--run-id is required")
	case p.Command == "results" && c.out == "":
		return c, cli.Usagef("%s must name a file, or - for stdout", p.Source("out"))
	case p.Command == "delete" && c.recordTTL < time.Second:
		return c, cli.Usagef("%s must be at least 1s", p.Source("record-ttl"))
	case strings.ContainsAny(c.queue, " \t\r\n"):
		return c, cli.Usagef("%s must not hold spaces", p.Source("queue"))
	case c.queue != "" && base.CheckQueue(c.queue) != nil:
		return c, cli.Usagef("%s %v", p.Source("queue"), base.CheckQueue(c.queue))
	case p.Command == "requeue" && (c.requeue.maxRetry < 0 || c.requeue.maxRetry > 100):
		return c, cli.Usagef("%s out of range [0, 100]", p.Source("max-retry"))
	case p.Command == "requeue" && (c.requeue.taskTimeout < time.Second || c.requeue.taskTimeout > 24*time.Hour):
		return c, cli.Usagef("%s out of range [1s, 24h]", p.Source("task-timeout"))
	}
	return c, checkRunID(c.runID, p)
}
