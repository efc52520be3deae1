package schedule

import (
	"context"
	"time"
)

// Clock tells the time and sleeps until a given time. A Runner reads every
// time it needs from its Clock, so tests can drive one without waiting.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// SleepUntil returns nil once Now is at or after t, or ctx's error as
	// soon as ctx ends.
	SleepUntil(ctx context.Context, t time.Time) error
}

// SystemClock is the machine's wall clock.
type SystemClock struct{}

// maxNap bounds one timer of SystemClock.SleepUntil, so that a step of the
// wall clock (a correction, a resumed virtual machine) delays a tick by at
// most this long.
const maxNap = 30 * time.Second

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// SleepUntil sleeps until the wall clock reads t or later, checking the wall
// clock again after every timer, or until ctx ends.
func (SystemClock) SleepUntil(ctx context.Context, t time.Time) error {
	t = t.Round(0) // compare on the wall clock, not the monotonic one
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		d := t.Sub(time.Now().Round(0))
		if d <= 0 {
			return nil
		}
		timer := time.NewTimer(min(d, maxNap))
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-timer.C:
		}
	}
}
