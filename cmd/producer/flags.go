package main

import (
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"bitqueue/internal/base"
	"bitqueue/internal/cli"
	"bitqueue/internal/input"
	"bitqueue/internal/rdb"
	"bitqueue/internal/redisconn"
	"bitqueue/internal/runs"
	"bitqueue/internal/schedule"
	"bitqueue/internal/tracing"
)

// command is how the producer's flags read their variables: BITQUEUE_ and
// the flag's name, unless a var tag says otherwise where one name would
// mean two things (--concurrency is BITQUEUE_PRODUCER_CONCURRENCY, since
// BITQUEUE_CONCURRENCY is the workers').
var command = cli.Command{
	Name:   "producer",
	Prefix: "BITQUEUE_",
	Vars: map[string]string{
		"max_count":       strconv.FormatUint(uint64(input.MaxCount), 10),
		"max_name":        strconv.Itoa(schedule.MaxNameLen),
		"lost_after":      runs.DefaultLostAfter.String(),
		"redis_wait_help": "how long to wait for Redis to answer, at start-up and during an outage, before giving up",
	},
}

// flags are the producer's command line: the flags of producing itself, of
// each subcommand, and those all of them take (Redis, --prefix, logging).
type flags struct {
	shared `embed:""`

	Produce produceFlags `cmd:"" default:"withargs" hidden:""`
	Status  statusFlags  `cmd:"" help:"how many batches of a run are done, pending, failed or lost (see producer status -h)"`
	Requeue requeueFlags `cmd:"" help:"send a run's failed batches back to their queue and enqueue its lost ones again (see producer requeue -h)"`
	Results resultsFlags `cmd:"" help:"write a run's rows, n<TAB>bits, in input order, from its results alone (see producer results -h)"`
	List    listFlags    `cmd:"" help:"the runs Redis knows: id, created, batches done/total, state (see producer list -h)"`
	Delete  deleteFlags  `cmd:"" help:"remove a run's queued batches, results and record, keeping a tombstone (see producer delete -h)"`
}

// shared are the flags every command of the producer takes.
type shared struct {
	Redis     cli.Redis     `embed:"" group:"Redis"`
	RedisWait cli.RedisWait `embed:"" group:"Redis"`
	Prefix    cli.Prefix    `embed:"" group:"Run"`
	Log       cli.Logging   `embed:"" group:"Logging"`
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
	JSON        bool          `name:"json" group:"Run" help:"print a one-line JSON summary of the run on stdout (run_id, batches, enqueued, already_queued, already_done, integers, waited, seconds) instead of the run id alone"`
	Wait        bool          `name:"wait" group:"Run" help:"wait until every batch of the run has its result, showing progress on stderr (done/total batches, integers/s, ETA: one line redrawn on a terminal, a line every 5s in a pipe or file, info lines with --log-format json) and warning when no worker has served the run's queues for 10s"`
	Timeout     time.Duration `name:"timeout" var:"BITQUEUE_WAIT_TIMEOUT" default:"0s" group:"Run" help:"with --wait, give up after this long (0: no limit)"`
	LostAfter   time.Duration `name:"lost-after" default:"${lost_after}" group:"Run" help:"with --wait, when no batch got done for this long, look for lost batches (no result, no task) and exit 1 naming them"`
	Out         string        `name:"out" placeholder:"file" group:"Run" help:"with --wait, write \"<n>\\t<bitstring>\" per input integer, in input order, to this file (- for stdout): checked before anything is enqueued (its directory must be writable, and it must not be the input), written beside it and renamed over it once complete (a FIFO or a device: in place)"`
	Queue       string        `name:"queue" default:"${queue}" placeholder:"queue" group:"Run" help:"queue to enqueue batches on"`
	Shards      int           `name:"shards" default:"1" group:"Run" help:"spread the batches over this many queues, <queue>-0 … <queue>-(N-1), by a hash of their task id, 1..${max_shards}; give the workers the same --shards"`
	MaxRetry    int           `name:"max-retry" default:"10" group:"Run" help:"retries of a failing batch before it is archived as failed, 0..100"`
	TaskTimeout time.Duration `name:"task-timeout" default:"1m" group:"Run" help:"how long a worker may spend on one batch before it is cancelled and retried, 1s..24h"`
	Concurrency int           `name:"concurrency" var:"BITQUEUE_PRODUCER_CONCURRENCY" default:"8" group:"Run" help:"enqueues in flight at once, 1..256"`
	RecordTTL   time.Duration `name:"record-ttl" default:"${ttl}" group:"Run" help:"how long the run's record, read by producer status and requeue, is kept (at least 1s; match the workers' --result-ttl)"`
	Retention   time.Duration `name:"retention" default:"0s" group:"Run" help:"keep each finished batch's task this long so that its id still refuses a second enqueue, 0..168h (default: none for a one-shot run; with --schedule, twice the time to the next tick, 1m..24h, and at least 1m when given)"`

	Schedule string `name:"schedule" placeholder:"spec" group:"Schedule" help:"produce one run per tick until SIGTERM: a 5-field cron spec (minute hour day-of-month month day-of-week), @hourly, @daily, … or @every D; ticks follow the clock, not the start"`
	TZ       string `name:"tz" placeholder:"zone" group:"Schedule" help:"with --schedule, the IANA time zone its times are read in, such as Europe/Paris (default UTC)"`
	Name     string `name:"name" var:"BITQUEUE_SCHEDULE_NAME" default:"bitqueue" group:"Schedule" help:"with --schedule, start of each tick's run id <name>-<UTC time>, such as nightly-20261129T1200Z; [A-Za-z0-9._-]{1,${max_name}}"`
	CatchUp  int    `name:"catch-up" default:"1" group:"Schedule" help:"with --schedule, on start produce the last N ticks already passed that no replica marked produced (one cut short by a stop is not), oldest first, 0..1000"`
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

// conn is how every command of the producer reaches Redis and logs: the
// shared flags, checked.
type conn struct {
	shared
	redisFrom string            // where --redis came from, for messages: the URL may hold a password
	redisOpts redisconn.Options // TLS settings and passwords
}

func (f *flags) conn(p *cli.Parsed, getenv func(string) string) (conn, error) {
	c := conn{shared: f.shared, redisFrom: p.Origin("redis"), redisOpts: f.Redis.Options(getenv)}
	for _, err := range []error{f.RedisWait.Check(p), f.Prefix.Check(p), f.Log.Check(p)} {
		if err != nil {
			return c, err
		}
	}
	return c, nil
}

// setup returns c's Redis and logging settings with a connection pool of at
// least poolSize.
func (c conn) setup(poolSize int) redisconn.Setup {
	return redisconn.Setup{URL: c.Redis.URL, URLFrom: c.redisFrom, Options: c.redisOpts, PoolSize: poolSize,
		Wait: c.RedisWait.Wait, LogFormat: c.Log.Format, LogLevel: c.Log.Level, Prefix: c.Prefix.Prefix}
}

// config is the command line of producing, checked (check).
type config struct {
	conn
	produceFlags
	seedSet bool               // --seed was given; otherwise the run id seeds the integers
	sched   *schedule.Schedule // parsed from --schedule and --tz
	tracing *tracing.Tracing   // set up by run; nil: off
}

// config returns the configuration of producing that f describes, checked;
// each message names a value as the user gave it, flag or environment
// variable (p.Source).
func (f *flags) config(p *cli.Parsed, getenv func(string) string) (config, error) {
	cn, err := f.conn(p, getenv)
	c := config{conn: cn, produceFlags: f.Produce, seedSet: p.Given("seed")}
	if err == nil {
		err = c.check(p)
	}
	return c, err
}

// check validates c, parsed by p. The ranges in the flags' help are checked
// by cli.Parse already.
func (c *config) check(p *cli.Parsed) error {
	src := p.Source
	if c.Shards > 1 && c.Schedule != "" {
		return cli.Usagef("%s with %s is not supported", src("shards"), src("schedule"))
	}
	if err := c.checkSchedule(p); err != nil {
		return err
	}
	counted := p.Given("count")
	switch {
	case counted && c.Input != "":
		return cli.Usagef("give exactly one of --count N and --input FILE, not both: %s and %s", src("count"), src("input"))
	case !counted && c.Input == "":
		return cli.Usagef("give exactly one of --count N and --input FILE (or BITQUEUE_COUNT, BITQUEUE_INPUT): neither is set")
	case c.Input != "" && (p.Given("max") || p.Given("seed")):
		return cli.Usagef("%s applies to --count, not --input", src(p.FirstGiven("max", "seed")))
	case c.LostAfter <= 0:
		return cli.Usagef("%s must be positive", src("lost-after"))
	case c.Timeout < 0:
		return cli.Usagef("%s must not be negative", src("timeout"))
	case !c.Wait && c.Out != "":
		return cli.Usagef("%s needs --wait", src("out"))
	case !c.Wait && c.Timeout > 0:
		return cli.Usagef("%s needs --wait", src("timeout"))
	case !c.Wait && p.Given("lost-after"):
		return cli.Usagef("%s needs --wait", src("lost-after"))
	case c.JSON && c.Out == "-":
		return cli.Usagef("%s and %s both write to stdout; give --out a file", src("json"), src("out"))
	case c.RecordTTL < time.Second:
		return cli.Usagef("%s must be at least 1s", src("record-ttl"))
	}
	if err := base.CheckQueue(c.Queue); err != nil {
		return cli.Usagef("%s %v", src("queue"), err)
	}
	if c.RunID != "" {
		return checkRunID(c.RunID, p)
	}
	return nil
}

// checkSchedule validates the scheduling flags and parses the schedule into
// c.sched. p tells which flags were given, on the command line or by their
// environment variable; each message names a value as the user gave it
// (p.Source).
func (c *config) checkSchedule(p *cli.Parsed) error {
	src, set := p.Source, p.Given
	if c.Schedule == "" {
		if set("tz") || set("name") || set("catch-up") {
			return cli.Usagef("%s needs --schedule", src(p.FirstGiven("tz", "name", "catch-up")))
		}
		return nil
	}
	switch {
	case set("run-id"):
		return cli.Usagef("%s does not apply to --schedule: each tick's run id is <--name>-<tick time>", src("run-id"))
	case set("seed"):
		return cli.Usagef("%s does not apply to --schedule: each tick's integers are seeded from its run id (give another --name for other integers)", src("seed"))
	case c.Input == "-":
		return cli.Usagef("%s (stdin) cannot be read again at every tick of --schedule; give a file", src("input"))
	case c.Wait || set("out") || set("timeout") || set("lost-after") || set("json"):
		return cli.Usagef("%s applies to one-shot runs, not to --schedule", src(p.FirstGiven("wait", "out", "timeout", "lost-after", "json")))
	case set("retention") && c.Retention < schedule.MinRetention:
		return cli.Usagef("%s is below %s, the least a scheduled tick's tasks are kept (leave it out for twice the time to the next tick)", src("retention"), schedule.MinRetention)
	case c.TZ == "Local":
		return cli.Usagef("%s differs from host to host; name a zone such as Europe/Paris, or leave --tz out for UTC", src("tz"))
	}
	if err := base.ValidateRunID(c.Name); err != nil || len(c.Name) > schedule.MaxNameLen {
		return cli.Usagef("%s must be 1 to %d characters from [A-Za-z0-9._-]", src("name"), schedule.MaxNameLen)
	}
	loc := time.UTC
	if c.TZ != "" {
		l, err := time.LoadLocation(c.TZ)
		if err != nil {
			return cli.Usagef("%s: unknown time zone (want an IANA name such as Europe/Paris)", src("tz"))
		}
		loc = l
	}
	sched, err := schedule.Parse(c.Schedule, loc)
	if err != nil {
		// The error names the spec already: say it once, as given.
		why := strings.TrimLeft(strings.TrimPrefix(err.Error(), fmt.Sprintf("schedule %q", c.Schedule)), ": ")
		return cli.Usagef("%s: %s", src("schedule"), why)
	}
	c.sched = sched
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

// inspectConfig is the command line of status, requeue, results, list and
// delete, checked: the run's flags and, in sub, the subcommand's flags.
type inspectConfig struct {
	conn
	runFlags
	queueFrom string // --queue as the user gave it, for messages
	sub       *flags // the subcommand's own flags: sub.Status, sub.Requeue, …
}

// inspectConfig returns the configuration of the inspect subcommand
// p.Command that f describes, checked; each message names a value as the
// user gave it (p.Source).
func (f *flags) inspectConfig(p *cli.Parsed, getenv func(string) string) (inspectConfig, error) {
	cn, err := f.conn(p, getenv)
	c := inspectConfig{conn: cn, sub: f}
	if err != nil || p.Command == "list" {
		return c, err
	}
	c.queueFrom = p.Source("queue")
	switch p.Command {
	case "status":
		c.runFlags = f.Status.Run
	case "requeue":
		c.runFlags = f.Requeue.Run
	case "results":
		c.runFlags = f.Results.Run
	case "delete":
		c.runFlags = f.Delete.Run
	}
	switch {
	case c.RunID == "":
		return c, cli.Usagef("--run-id is required")
	case p.Command == "results" && f.Results.Out == "":
		return c, cli.Usagef("%s must name a file, or - for stdout", p.Source("out"))
	case p.Command == "delete" && f.Delete.RecordTTL < time.Second:
		return c, cli.Usagef("%s must be at least 1s", p.Source("record-ttl"))
	case strings.ContainsAny(c.Queue, " \t\r\n"):
		return c, cli.Usagef("%s must not hold spaces", p.Source("queue"))
	case c.Queue != "":
		if err := base.CheckQueue(c.Queue); err != nil {
			return c, cli.Usagef("%s %v", p.Source("queue"), err)
		}
	}
	return c, checkRunID(c.RunID, p)
}

// runsConfig is the configuration of the run service c's flags describe,
// on db.
func (c config) runsConfig(db *rdb.RDB, log *slog.Logger) runs.Config {
	return runs.Config{
		RDB:         db,
		MaxRetry:    c.MaxRetry,
		TaskTimeout: c.TaskTimeout,
		Retention:   c.Retention,
		Concurrency: c.Concurrency,
		RecordTTL:   c.RecordTTL,
		RedisWait:   c.RedisWait.Wait,
		LostAfter:   c.LostAfter,
		Logger:      log,
		Tracer:      c.tracing.Tracer(),
	}
}
