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
//
// With Marks, a tick whose Produce returned nil is marked produced, and a
// tick found marked is not produced again: not by another Runner, and not by
// a later catch-up once the tick's results and tasks have expired. A tick
// cut short (a stop signal, an error) stays unmarked, so that the catch-up of
// the next start completes it.
type Runner struct {
	Schedule *Schedule
	// Name starts every run id, as in Schedule.RunID.
	Name  string
	Clock Clock
	// CatchUp is how many of the most recent ticks before the start are
	// produced first, oldest first; 0 replays none. A tick in the second of
	// the start is not one of them: it is due, and produced as any other.
	CatchUp int
	// Produce makes the run of one tick. Its errors are logged and the
	// Runner goes on with the next tick.
	Produce func(ctx context.Context, t Tick) error
	// Marks, when set, records the ticks produced (see MarkTTL).
	Marks Marks
	// KeepMark, when set, is the least time the mark of a tick is kept
	// (the retention of its tasks, say).
	KeepMark func(t Tick) time.Duration
	Logger   *slog.Logger
}

// Marks records which ticks were produced to their end, by run id.
type Marks interface {
	// Produced reports whether the tick's mark is there.
	Produced(ctx context.Context, runID string) (bool, error)
	// Mark sets the tick's mark, kept for ttl.
	Mark(ctx context.Context, runID string, ttl time.Duration) error
}

// MarkMargin is how long a mark outlives the reach of catch-up: it covers
// replicas whose clocks disagree by up to that much.
const MarkMargin = 10 * time.Minute

// markGrace bounds the writing of a mark once a stop signal has come.
const markGrace = 5 * time.Second

// maxMarkTTL bounds a mark's lifetime by how far Schedule.Last looks back.
const maxMarkTTL = 20 * 366 * 24 * time.Hour

// MarkTTL returns how long the mark of the tick t, set now, is kept: until
// no Runner with this CatchUp (at least 1) starting later can reach the tick
// (Schedule.After), plus MarkMargin, and at least KeepMark(t).
func (r *Runner) MarkTTL(t Tick, now time.Time) time.Duration {
	ttl := maxMarkTTL
	if until := r.Schedule.After(t.Time, max(r.CatchUp, 1)); !until.IsZero() {
		ttl = min(until.Add(time.Second+MarkMargin).Sub(now), maxMarkTTL)
	}
	if r.KeepMark != nil {
		ttl = max(ttl, r.KeepMark(t))
	}
	return max(ttl, MarkMargin)
}

// Run produces the catch-up ticks, then every tick as its time comes, and
// returns nil when ctx ends, between ticks or during one (a tick cut short is
// left unmarked). A tick is due from the start of its second, so a Runner
// started within a tick's second produces that tick. When a tick is produced
// so late that later ticks have passed too, it goes straight to the latest of
// them, logging how many it skipped. It returns an error only when the
// schedule has no next tick.
func (r *Runner) Run(ctx context.Context) error {
	// Ticks are whole seconds: every tick after prev is at or after the
	// start's own second.
	prev := r.Clock.Now().Truncate(time.Second).Add(-time.Nanosecond)
	if r.CatchUp > 0 {
		for _, t := range r.Schedule.Last(prev, r.CatchUp) {
			if !r.produce(ctx, t, true) {
				return nil
			}
		}
	}
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

// produce runs one tick, unless it is marked produced, and reports whether
// to go on.
func (r *Runner) produce(ctx context.Context, at time.Time, catchUp bool) bool {
	t := Tick{Time: at, RunID: r.Schedule.RunID(r.Name, at), CatchUp: catchUp}
	attrs := []any{"tick", at.Format(time.RFC3339), "run_id", t.RunID, "catch_up", catchUp}
	if r.Marks != nil {
		done, err := r.Marks.Produced(ctx, t.RunID)
		if ctx.Err() != nil {
			return false
		}
		if err != nil {
			r.Logger.Error("tick failed", append(attrs, "err", fmt.Errorf("read the tick's mark: %w", err))...)
			return true
		}
		if done {
			r.Logger.Info("tick already produced", attrs...)
			return true
		}
	}
	err := r.Produce(ctx, t)
	if err == nil && r.Marks != nil {
		// A tick produced to its end is marked even when a stop signal came
		// in the meantime: a short grace, not the signal, bounds the write.
		mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), markGrace)
		merr := r.Marks.Mark(mctx, t.RunID, r.MarkTTL(t, r.Clock.Now()))
		cancel()
		if merr != nil {
			// Produced but not marked: a later catch-up produces it again,
			// enqueueing only what has neither a result nor a task.
			r.Logger.Error("tick produced but not marked", append(attrs, "err", merr)...)
		}
	}
	if ctx.Err() != nil {
		if err != nil {
			r.Logger.Info("stopped during tick", "tick", at.Format(time.RFC3339), "run_id", t.RunID, "err", err)
		}
		return false
	}
	if err != nil {
		r.Logger.Error("tick failed", append(attrs, "err", err)...)
	}
	return true
}
