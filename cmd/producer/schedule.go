package main

import (
	"bitqueue/internal/base"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"
	_ "time/tzdata" // --tz works on hosts and images without a zone database

	"go.opentelemetry.io/otel/trace"

	"bitqueue/internal/cli"
	"bitqueue/internal/input"
	"bitqueue/internal/outage"
	"bitqueue/internal/schedule"
	"bitqueue/internal/tracing"
)

// Limits of the scheduling flags.
const (
	defaultName    = "bitqueue"
	defaultCatchUp = 1
	maxCatchUp     = 1000
	maxRetention   = 7 * 24 * time.Hour
	// minTickRetention is the least --retention a scheduled tick's tasks
	// get: below it, a replica a little behind could find neither the task
	// nor the result of a batch that was just finished, and enqueue it again.
	minTickRetention = time.Minute
	// tickTimeLen is the length of the time part of a tick's run id,
	// "-20061129T150405Z" at most.
	tickTimeLen = len("-20060102T150405Z")
)

// scheduled holds the flags of scheduled production.
type scheduled struct {
	spec    string
	tz      string
	name    string
	catchUp int
	// retentionSet records that --retention was given; otherwise a
	// scheduled tick's retention follows from the schedule.
	retentionSet bool
	sched        *schedule.Schedule // parsed from spec and tz by check
}

// check validates the scheduling flags and parses the schedule into
// c.sched.sched. p tells which flags were given, on the command line or by
// their environment variable; each message names a value as the user gave
// it (p.Source).
func (s *scheduled) check(c *config, p *cli.Parsed) error {
	src, set := p.Source, p.Given
	s.retentionSet = set("retention")
	if c.retention < 0 || c.retention > maxRetention {
		return cli.Usagef("%s out of range [0, %s]", src("retention"), short(maxRetention))
	}
	if s.spec == "" {
		if set("tz") || set("name") || set("catch-up") {
			return cli.Usagef("%s needs --schedule", src(firstGiven(p, "tz", "name", "catch-up")))
		}
		return nil
	}
	switch {
	case set("run-id"):
		return cli.Usagef("%s does not apply to --schedule: each tick's run id is <--name>-<tick time>", src("run-id"))
	case set("seed"):
		return cli.Usagef("%s does not apply to --schedule: each tick's integers are seeded from its run id (give another --name for other integers)", src("seed"))
	case c.input == "-":
		return cli.Usagef("%s (stdin) cannot be read again at every tick of --schedule; give a file", src("input"))
	case c.wait || set("out") || set("timeout") || set("lost-after") || set("json"):
		return cli.Usagef("%s applies to one-shot runs, not to --schedule", src(firstGiven(p, "wait", "out", "timeout", "lost-after", "json")))
	case s.retentionSet && c.retention < minTickRetention:
		return cli.Usagef("%s is below %s, the least a scheduled tick's tasks are kept (leave it out for twice the time to the next tick)", src("retention"), short(minTickRetention))
	case s.catchUp < 0 || s.catchUp > maxCatchUp:
		return cli.Usagef("%s out of range [0, %d]", src("catch-up"), maxCatchUp)
	case s.tz == "Local":
		return cli.Usagef("%s differs from host to host; name a zone such as Europe/Paris, or leave --tz out for UTC", src("tz"))
	}
	if err := base.ValidateRunID(s.name); err != nil || len(s.name) > base.MaxRunID-tickTimeLen {
		return cli.Usagef("%s must be 1 to %d characters from [A-Za-z0-9._-]", src("name"), base.MaxRunID-tickTimeLen)
	}
	loc := time.UTC
	if s.tz != "" {
		l, err := time.LoadLocation(s.tz)
		if err != nil {
			return cli.Usagef("%s: unknown time zone (want an IANA name such as Europe/Paris)", src("tz"))
		}
		loc = l
	}
	sched, err := schedule.Parse(s.spec, loc)
	if err != nil {
		// The error names the spec already: say it once, as given.
		why := strings.TrimLeft(strings.TrimPrefix(err.Error(), fmt.Sprintf("schedule %q", s.spec)), ": ")
		return cli.Usagef("%s: %s", src("schedule"), why)
	}
	s.sched = sched
	return nil
}

// short formats d without trailing zero units: 168h, not 168h0m0s.
func short(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// tickRetention returns how long the tasks of the tick at t are kept once
// done: --retention when given, otherwise twice the time to the next tick,
// from a minute to a day, which covers replicas whose clocks or starts lag
// behind by up to a tick.
func (s *scheduled) tickRetention(c *config, t time.Time) time.Duration {
	if s.retentionSet {
		return c.retention
	}
	next := s.sched.Next(t)
	if next.IsZero() {
		return 24 * time.Hour
	}
	return min(max(2*next.Sub(t), time.Minute), 24*time.Hour)
}

// runScheduled produces one run per tick of c's schedule, reading the time
// from clock, until ctx ends; it then returns nil. The run of a tick is
// exactly what a one-shot run with the tick's run id enqueues. Each tick
// produced to its end is marked in Redis (base.TickKey), and no replica
// produces a marked tick again.
func runScheduled(ctx context.Context, c config, log *slog.Logger, clock schedule.Clock) error {
	s := &c.sched
	if c.input != "" {
		// A bad file is refused at start-up; one that turns bad later fails
		// only the ticks that read it.
		snap, err := input.SnapshotFile(c.input, "")
		if err != nil {
			return inputErr(err)
		}
		snap.Close()
	}
	setup := c.redisSetup(c.concurrency + 2)
	db, err := setup.Open()
	if err != nil {
		return err
	}
	defer db.Close()
	if err := setup.WaitFor(ctx, db, log); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}

	produce := func(ctx context.Context, t schedule.Tick) (err error) {
		start := time.Now()
		// Each tick is a trace of its own.
		ctx, span := c.startSpan(ctx, spanTick, trace.WithNewRoot(), trace.WithAttributes(tracing.AttrRunID.String(t.RunID),
			tracing.AttrTick.String(t.Time.Format(time.RFC3339)), tracing.AttrCatchUp.Bool(t.CatchUp)))
		defer func() { tracing.End(span, err) }()
		// Each tick reads the file once, into a snapshot of its own.
		var src input.Source = input.Random(base.SeedFor(t.RunID), c.count, c.max)
		if c.input != "" {
			snap, err := input.SnapshotFile(c.input, "")
			if err != nil {
				return err
			}
			defer snap.Close()
			src = snap
		}
		total, err := input.Count(src)
		if err != nil {
			return err
		}
		span.SetAttributes(tracing.AttrBatches.Int(base.Batches(total, c.batchSize)), tracing.AttrIntegers.Int64(int64(total)))
		tick := c
		tick.retention = s.tickRetention(&c, t.Time)
		svc, err := tick.service(db, log)
		if err != nil {
			return err
		}
		_, st, err := tick.enqueue(ctx, svc, tick.spec(t.RunID, src, total))
		if err != nil {
			return oomError(err)
		}
		log.Info("tick", "tick", t.Time.Format(time.RFC3339), "run_id", t.RunID, "catch_up", t.CatchUp,
			"batches", st.Batches, "new", st.Enqueued, "already_queued", st.Queued, "already_done", st.Done,
			"retention", svc.Retention, "took", time.Since(start).Round(time.Millisecond))
		return nil
	}

	source := "random"
	if c.input != "" {
		source = c.input
	}
	next := s.sched.Next(clock.Now().Truncate(time.Second).Add(-time.Nanosecond))
	log.Info("schedule", "schedule", s.sched.String(), "tz", s.sched.Location().String(), "name", s.name,
		"source", source, "catch_up", s.catchUp, "next_tick", next.Format(time.RFC3339), "next_run_id", s.sched.RunID(s.name, next))
	r := &schedule.Runner{
		Schedule: s.sched,
		Name:     s.name,
		Clock:    clock,
		CatchUp:  s.catchUp,
		Produce:  produce,
		Marks:    &schedule.RedisMarks{RDB: db, Rider: outage.New(c.redisWait, log), Now: clock.Now},
		KeepMark: func(t schedule.Tick) time.Duration { return s.tickRetention(&c, t.Time) },
		Logger:   log,
	}
	return r.Run(ctx)
}
