package runs

import (
	"slices"
	"time"
)

// pausedWatch tells Wait when some of a run's queues are paused (`asynq
// queue pause`, asynqmon's pause button): no worker takes a batch from a
// paused queue, so the run stands still however many workers serve it. A
// pause is a fact, not a delay to sit out, so it is reported at the first
// check that sees it; then again only when a queue not reported before is
// found paused (one resumed and paused again included).
type pausedWatch struct {
	list  func() ([]string, error) // the run's queues paused now, in the run's order
	every time.Duration

	checked  time.Time // the last list, zero before the first
	reported []string  // paused when last listed, all reported
}

// newPausedWatch returns the pausedWatch of the queues list reads, listing
// them every w.ServerCheck (DefaultServerCheck).
func newPausedWatch(list func() ([]string, error), w Watch) *pausedWatch {
	pw := &pausedWatch{list: list, every: w.ServerCheck}
	if pw.every <= 0 {
		pw.every = DefaultServerCheck
	}
	return pw
}

// check lists the paused queues when the last list is at least every old,
// and returns them all when one of them was not paused at the last list;
// nil otherwise. An error listing them is returned as is and changes
// nothing: the next check tries again.
func (pw *pausedWatch) check(now time.Time) ([]string, error) {
	if !pw.checked.IsZero() && now.Sub(pw.checked) < pw.every {
		return nil, nil
	}
	pw.checked = now
	paused, err := pw.list()
	if err != nil {
		return nil, err
	}
	before := pw.reported
	pw.reported = paused
	for _, q := range paused {
		if !slices.Contains(before, q) {
			return paused, nil
		}
	}
	return nil, nil
}
