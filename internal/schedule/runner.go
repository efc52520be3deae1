package schedule

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Tick is one scheduled run.
type Tick struct {
	Time    time.Time // the scheduled time, in UTC
	RunID   string    // Schedule.RunID of the Runner's Name and Time
	CatchUp bool      // produced at start-up for a tick that had already passed
}

// Runner calls Produce once for each tick of Schedule, from the moment Run
// starts until its context ends. It holds no state between ticks beyond the
// time of the last one: any number of Runners with the same Schedule and Name
// compute the same ticks and run ids, so that Produce, if it is idempotent per
// run id, makes each tick happen once however many Runners there are.
type Runner struct {
	Schedule *Schedule
	// Name starts every run id, as in Schedule.RunID.
	Name  string
	Clock Clock
	// CatchUp is how many of the most recent ticks at or before the start
	// are produced first, oldest first; 0 replays none.
	CatchUp int
	// Produce makes the run of one tick. Its errors are logged and the
	// Runner goes on with the next tick.
	Produce func(ctx context.Context, t Tick) error
	Logger  *slog.Logger
}

// Run produces the catch-up ticks, then every tick as its time comes, and
// returns nil when ctx ends, between ticks or during one (a tick cut short is
// not resumed). When a tick is produced so late that later ticks have passed
// too, it goes straight to the latest of them, logging how many it skipped.
// It returns an error only when the schedule has no next tick.
func (r *Runner) Run(ctx context.Context) error {
	start := r.Clock.Now()
	if r.CatchUp > 0 {
		for _, t := range r.Schedule.Last(start, r.CatchUp) {
			if !r.produce(ctx, t, true) {
				return nil
			}
		}
	}
	prev := start
	for {
		next := r.Schedule.Next(prev)
		if next.IsZero() {
			return fmt.Errorf("schedule %q has no tick within five years of %s", r.Schedule, prev.UTC().Format(time.RFC3339))
		}
		if now := r.Clock.Now(); !next.After(now) {
			skipped := 0
			for {
				later := r.Schedule.Next(next)
				if later.IsZero() || later.After(now) {
					break
				}
				next, skipped = later, skipped+1
			}
			if skipped > 0 {
				r.Logger.Warn("ticks skipped: the previous tick ended after the next one was due", "skipped", skipped, "tick", next.Format(time.RFC3339), "run_id", r.Schedule.RunID(r.Name, next))
			}
		}
		r.Logger.Debug("waiting for tick", "tick", next.Format(time.RFC3339), "run_id", r.Schedule.RunID(r.Name, next))
		if err := r.Clock.SleepUntil(ctx, next); err != nil {
			r.Logger.Info("stopped between ticks", "next_tick", next.Format(time.RFC3339))
			return nil
		}
		if !r.produce(ctx, next, false) {
			return nil
		}
		prev = next
	}
}

// produce runs one tick and reports whether to go on.
func (r *Runner) produce(ctx context.Context, at time.Time, catchUp bool) bool {
	t := Tick{Time: at, RunID: r.Schedule.RunID(r.Name, at), CatchUp: catchUp}
	err := r.Produce(ctx, t)
	if ctx.Err() != nil {
		if err != nil {
			r.Logger.Info("stopped during tick", "tick", at.Format(time.RFC3339), "run_id", t.RunID, "err", err)
		}
		return false
	}
	if err != nil {
		r.Logger.Error("tick failed", "tick", at.Format(time.RFC3339), "run_id", t.RunID, "catch_up", catchUp, "err", err)
	}
	return true
}
