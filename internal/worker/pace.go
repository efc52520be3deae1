package worker

import (
	"math/rand/v2"
	"sync"
	"time"
)

// pacer paces a worker's polls of empty queues: asynq polls every
// BusyPollInterval (its TaskCheckInterval, read once), and the pacer holds
// each poll back while the worker is idle, so that an idle worker polls
// about once per PollInterval and a busy one at asynq's pace.
//
// asynq v0.26.0 offers no hook into its polling: a poll is a call of its
// dequeue script, once per queue, from one goroutine, followed by a sleep of
// TaskCheckInterval (±50 %) when every queue was empty. The pacer is called
// around those calls by a hook on the worker's Redis client
// (rdb.HookDequeues). Before the first call of a poll (one that follows the previous call
// after a gap, the sleep) it waits, while idle, a random time around
// PollInterval; it ends the wait early when the fleet is woken. A worker is
// idle once IdleAfter has passed since it last got a task or was woken.
//
// When an idle worker finds a task and then, at once, a second one, it wakes
// the whole fleet (package wake): every worker is then busy for IdleAfter and
// polls at once, so that a run that finds an idle fleet is picked up by one
// worker (woken by the producer, or polling: within about PollInterval /
// (workers + 1)) and by the whole fleet a round trip later.
type pacer struct {
	idle      time.Duration // poll period while idle
	idleAfter time.Duration // no task for this long: idle
	roundGap  time.Duration // a dequeue call this long after the previous one starts a poll
	publish   func()        // tells the fleet that work arrived; nil: nobody to tell
	stopped   <-chan struct{}
	woken     chan struct{} // a wake-up arrived during a wait

	mu       sync.Mutex
	lastWork time.Time // last task, or wake-up
	lastCall time.Time // end of the last dequeue call
	fromIdle bool      // the last dequeue found the first task after idling
}

func newPacer(cfg Config, stopped <-chan struct{}) *pacer {
	p := &pacer{
		idle:      cfg.PollInterval,
		idleAfter: cfg.IdleAfter,
		roundGap:  cfg.BusyPollInterval / 4, // asynq sleeps at least half of it between polls
		stopped:   stopped,
		woken:     make(chan struct{}, 1),
		lastWork:  time.Now(), // a new worker starts busy
	}
	return p
}

// wake makes the worker busy and ends a wait in progress.
func (p *pacer) wake() {
	p.mu.Lock()
	p.lastWork = time.Now()
	p.mu.Unlock()
	select {
	case p.woken <- struct{}{}:
	default:
	}
}

// before is called before each of asynq's dequeue calls (rdb.HookDequeues):
// it reports whether the call starts a poll of an idle worker, holding it
// back as the pacer does, and whether to go on; not when the worker is
// stopping, so that asynq finds the queue empty, sleeps and then sees that
// it is stopping.
func (p *pacer) before() (idle, proceed bool) {
	idle, at := p.beforeCall()
	return idle, !idle || p.wait(at)
}

// after notes the end of a dequeue call; see afterCall.
func (p *pacer) after(idle, found bool) { p.afterCall(idle, found) }

// beforeCall reports whether the call starts a poll of an idle worker, and
// when it decided.
func (p *pacer) beforeCall() (idle bool, at time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	return now.Sub(p.lastCall) >= p.roundGap && now.Sub(p.lastWork) >= p.idleAfter, now
}

// wait waits a random time in [idle/2, 3·idle/2), like asynq's own sleep,
// so that the polls of a fleet spread out, or until a wake-up later than at.
// It returns false when the worker is stopping.
func (p *pacer) wait(at time.Time) bool {
	select {
	case <-p.woken: // a wake-up from before at, or one lastWork shows
	default:
	}
	p.mu.Lock()
	woken := p.lastWork.After(at)
	p.mu.Unlock()
	if woken {
		return true
	}
	t := time.NewTimer(p.idle/2 + rand.N(p.idle))
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-p.woken:
		return true
	case <-p.stopped:
		return false
	}
}

// afterCall notes the end of a dequeue call. When the worker, idle before,
// finds two tasks in a row, the queue holds more than it alone should take:
// it wakes the fleet. One task alone wakes nobody, so that a lone batch is
// not slowed down by every other worker waking at once.
func (p *pacer) afterCall(wasIdle, got bool) {
	p.mu.Lock()
	now := time.Now()
	p.lastCall = now
	wasIdle = wasIdle || now.Sub(p.lastWork) >= p.idleAfter
	tell := false
	switch {
	case !got:
		p.fromIdle = false
	case wasIdle:
		p.fromIdle = true // the first task after idling
	case p.fromIdle:
		p.fromIdle = false // the second in a row
		tell = true
	}
	if got {
		p.lastWork = now
	}
	p.mu.Unlock()
	if tell && p.publish != nil {
		p.publish()
	}
}
