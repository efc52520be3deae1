package schedule

import (
	"context"
	"time"

	"bitqueue/internal/base"
	"bitqueue/internal/input"
	"bitqueue/internal/outage"
	"bitqueue/internal/runs"
	"bitqueue/internal/tracing"

	"go.opentelemetry.io/otel/trace"
)

// Producer enqueues one run per tick of its Schedule through the run
// service, from any number of replicas: the run of a tick is exactly what a
// one-shot run with the tick's run id enqueues, each tick produced to its end
// is marked in Redis (RedisMarks), and no replica produces a marked tick
// again.
type Producer struct {
	Schedule *Schedule
	// Name starts every tick's run id (Schedule.RunID).
	Name    string
	CatchUp int // see Runner.CatchUp
	Clock   Clock
	// File holds the integers of every tick, read anew into a snapshot of
	// its own at each tick; without it a tick's integers are Count random
	// ones below Max, seeded from its run id.
	File       string
	Count, Max uint64
	// Queue, Shards and BatchSize are those of every tick's run.
	Queue             string
	Shards, BatchSize int
	// Runs configures the run service of every tick; its Retention, when
	// zero, is the schedule's own for each tick (Schedule.Retention).
	Runs runs.Config
}

// Run produces ticks until ctx ends, then returns nil (see Runner.Run).
func (p *Producer) Run(ctx context.Context) error {
	p.Runs = p.Runs.WithDefaults()
	log := p.Runs.Logger
	source := "random"
	if p.File != "" {
		source = p.File
	}
	next := p.Schedule.Next(p.Clock.Now().Truncate(time.Second).Add(-time.Nanosecond))
	log.Info("schedule", "schedule", p.Schedule.String(), "tz", p.Schedule.Location().String(), "name", p.Name,
		"source", source, "catch_up", p.CatchUp, "next_tick", next.Format(time.RFC3339), "next_run_id", p.Schedule.RunID(p.Name, next))
	r := &Runner{
		Schedule: p.Schedule,
		Name:     p.Name,
		Clock:    p.Clock,
		CatchUp:  p.CatchUp,
		Produce:  p.produce,
		Marks:    &RedisMarks{RDB: p.Runs.RDB, Rider: outage.New(p.Runs.RedisWait, log), Now: p.Clock.Now},
		KeepMark: func(t Tick) time.Duration { return p.Retention(t.Time) },
		Logger:   log,
	}
	return r.Run(ctx)
}

// Input returns the integers of the tick runID, which the caller closes.
func (p *Producer) Input(runID string) (input.Source, error) {
	return input.Open(p.File, nil, p.Count, p.Max, base.SeedFor(runID)) // --schedule refuses stdin
}

// Retention returns how long the tasks of the tick at t are kept once done:
// Runs.Retention, or the schedule's own when that is zero.
func (p *Producer) Retention(t time.Time) time.Duration {
	if p.Runs.Retention > 0 {
		return p.Runs.Retention
	}
	return p.Schedule.Retention(t)
}

// produce enqueues the run of tick t, a trace of its own.
func (p *Producer) produce(ctx context.Context, t Tick) (err error) {
	start := time.Now()
	ctx, span := p.Runs.Tracer.Start(ctx, "producer tick", trace.WithNewRoot(), trace.WithAttributes(tracing.AttrRunID.String(t.RunID),
		tracing.AttrTick.String(t.Time.Format(time.RFC3339)), tracing.AttrCatchUp.Bool(t.CatchUp)))
	defer func() { tracing.End(span, err) }()
	src, err := p.Input(t.RunID)
	if err != nil {
		return err
	}
	defer src.Close()
	total, err := input.Count(src)
	if err != nil {
		return err
	}
	span.SetAttributes(tracing.AttrBatches.Int(base.Batches(total, p.BatchSize)), tracing.AttrIntegers.Int64(int64(total)))
	cfg := p.Runs
	cfg.Retention = p.Retention(t.Time)
	svc, err := runs.New(cfg)
	if err != nil {
		return err
	}
	_, st, err := svc.Enqueue(ctx, runs.Spec{RunID: t.RunID, Queue: p.Queue, Shards: p.Shards, BatchSize: p.BatchSize, Source: src, Integers: total})
	if err != nil {
		return err
	}
	svc.Logger.Info("tick", "tick", t.Time.Format(time.RFC3339), "run_id", t.RunID, "catch_up", t.CatchUp,
		"batches", st.Batches, "new", st.Enqueued, "already_queued", st.Queued, "already_done", st.Done,
		"retention", svc.Retention, "took", time.Since(start).Round(time.Millisecond))
	return nil
}
