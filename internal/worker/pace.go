package worker

import (
	"math/rand/v2"
	"sync"
	"time"
)

// pacer paces a worker process's polls of empty queues: asynq polls every
// BusyPollInterval (its TaskCheckInterval, read once), and the pacer holds
// each poll of the first loop back while the process is idle, so that an
// idle process polls about once per PollInterval and a busy one at asynq's
// pace.
//
// asynq v0.26.0 offers no hook into its polling: a poll is a call of its
// dequeue script, once per queue, from one goroutine per asynq server,
// followed by a sleep of TaskCheckInterval (±50 %) when every queue was
// empty. The pacer is called around those calls by a hook on each loop's
// Redis client (rdb.HookDequeues), through the loop's loopPace. Before the
// first call of a poll of the first loop (one that follows that loop's
// previous call after a gap, the sleep) it waits, while idle, a random time
// around PollInterval; it ends the wait early when the fleet is woken. A
// process is idle once IdleAfter has passed since any of its loops last got
// a task or it was woken.
//
// When the first loop, idle before, finds a task and then, at once, a
// second one, it wakes the whole fleet (package wake): every worker is then
// busy for IdleAfter and polls at once, so that a run that finds an idle
// fleet is picked up by one worker (woken by the producer, or polling:
// within about PollInterval / (workers + 1)) and by the whole fleet a round
// trip later.
//
// The pacer also tells the process's loops when to grow and when to shrink
// (see loops). A loop that finds a task right after finding one has met a
// backlog: it lets the parked loops go on, or, when none is parked, starts
// one more loop. A loop beyond the first whose poll found nothing parks: it
// holds its next call back until a loop meets a backlog again, so that only
// the first loop polls an empty queue, busy or idle. A loop beyond the first
// that has found no task for IdleAfter retires, refusing every later call
// without sending it. So an idle process has one loop, and only that loop
// polls.
type pacer struct {
	idle      time.Duration // poll period while idle
	idleAfter time.Duration // no task for this long: idle
	roundGap  time.Duration // a dequeue call this long after the previous one starts a poll
	pace      bool          // hold idle polls back; false when PollInterval is not above BusyPollInterval
	publish   func()        // tells the fleet that work arrived; nil: nobody to tell
	stopped   <-chan struct{}
	woken     chan struct{} // a wake-up arrived during a wait

	mu       sync.Mutex
	lastWork time.Time     // last task of any loop, or wake-up
	backlog  chan struct{} // closed when a loop meets a backlog: the parked loops go on
	parked   int           // loops waiting on backlog
}

func newPacer(cfg Config, stopped <-chan struct{}) *pacer {
	return &pacer{
		idle:      cfg.PollInterval,
		idleAfter: cfg.IdleAfter,
		roundGap:  cfg.BusyPollInterval / 4, // asynq sleeps at least half of it between polls
		pace:      cfg.PollInterval > cfg.BusyPollInterval,
		stopped:   stopped,
		woken:     make(chan struct{}, 1),
		lastWork:  time.Now(), // a new worker starts busy
		backlog:   make(chan struct{}),
	}
}

// park waits, for a loop beyond the first whose last poll found nothing,
// until a loop meets a backlog (unpark), until passes or the worker stops.
// It reports whether the loop is to go on: a backlog.
func (p *pacer) park(until time.Time) bool {
	p.mu.Lock()
	backlog := p.backlog
	p.parked++
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.parked--
		p.mu.Unlock()
	}()
	t := time.NewTimer(time.Until(until))
	defer t.Stop()
	select {
	case <-backlog:
		return true
	case <-t.C:
		return false
	case <-p.stopped:
		return false
	}
}

// unpark lets every parked loop go on, and returns how many there were.
func (p *pacer) unpark() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.parked
	if n > 0 {
		close(p.backlog)
		p.backlog = make(chan struct{})
	}
	return n
}

// stopping reports whether the worker is stopping.
func (p *pacer) stopping() bool {
	select {
	case <-p.stopped:
		return true
	default:
		return false
	}
}

// wake makes the process busy and ends a wait in progress.
func (p *pacer) wake() {
	p.mu.Lock()
	p.lastWork = time.Now()
	p.mu.Unlock()
	select {
	case p.woken <- struct{}{}:
	default:
	}
}

// idleAt reports whether the process is idle at now.
func (p *pacer) idleAt(now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return now.Sub(p.lastWork) >= p.idleAfter
}

// worked notes that a loop got a task at now.
func (p *pacer) worked(now time.Time) {
	p.mu.Lock()
	p.lastWork = now
	p.mu.Unlock()
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

// loopPace is one loop's side of the pacer: its before and after go around
// the dequeue calls of that loop's asynq server (rdb.HookDequeues), which
// come one at a time from the server's processor goroutine.
type loopPace struct {
	p     *pacer
	first bool // the first loop: paced while idle, never retires
	// grow is told when a call found a task right after one that found
	// one: the queues hold a backlog; nil: nobody to tell. loops.grow
	// unparks the parked loops or starts one more.
	grow func()
	// retire is told once when a loop beyond the first retires.
	retire func()

	mu       sync.Mutex
	lastCall time.Time // end of the last dequeue call
	lastGot  time.Time // the loop's last task, or its start
	got      bool      // the last call found a task
	fromIdle bool      // the last call found the first task after idling
	retired  bool      // refuses every call from now on
}

// loop returns the pace of a loop of p's process: the first, or one beyond
// it that retires (telling retire) once it has found no task for IdleAfter.
func (p *pacer) loop(first bool, grow, retire func()) *loopPace {
	return &loopPace{p: p, first: first, grow: grow, retire: retire, lastGot: time.Now()}
}

// before is called before each of the loop's dequeue calls: it reports
// whether the call starts a poll of an idle process, holding it back as the
// pacer does, and whether to go on. It says not to when the worker is
// stopping, so that asynq finds the queue empty, sleeps and then sees that
// it is stopping, and for good once a loop beyond the first has retired. A
// loop beyond the first whose last poll found nothing parks here.
func (l *loopPace) before() (idle, proceed bool) {
	if !l.first {
		return false, l.admit()
	}
	idle, at := l.beforeCall()
	return idle, !idle || l.p.wait(at)
}

// beforeCall reports whether the first loop's call starts a poll of an idle
// process, and when it decided.
func (l *loopPace) beforeCall() (idle bool, at time.Time) {
	now := time.Now()
	l.mu.Lock()
	startsPoll := now.Sub(l.lastCall) >= l.p.roundGap
	l.mu.Unlock()
	return l.p.pace && startsPoll && l.p.idleAt(now), now
}

// admit reports whether a loop beyond the first may send its call. When
// the loop's last poll found nothing (a call after asynq's sleep, following
// one that found nothing) it parks first, until a loop meets a backlog; once
// it has found no task for IdleAfter it retires instead.
func (l *loopPace) admit() bool {
	for {
		now := time.Now()
		l.mu.Lock()
		if l.retired {
			l.mu.Unlock()
			return false
		}
		until := l.lastGot.Add(l.p.idleAfter)
		if !now.Before(until) {
			l.retired = true
			l.mu.Unlock()
			if l.retire != nil {
				l.retire()
			}
			return false
		}
		empty := !l.lastCall.IsZero() && !l.got && now.Sub(l.lastCall) >= l.p.roundGap
		l.mu.Unlock()
		if !empty || l.p.park(until) {
			return true
		}
		if l.p.stopping() {
			return false
		}
	}
}

// after notes the end of a dequeue call: whether it found a task, and
// whether before said the process was idle. When the first loop of a paced
// process, idle before, finds two tasks in a row, the queue holds more than
// this worker alone should take: it wakes the fleet. One task alone wakes nobody, so that
// a lone batch is not slowed down by every other worker waking at once. Any
// loop finding two tasks in a row tells grow.
func (l *loopPace) after(wasIdle, got bool) {
	now := time.Now()
	if !wasIdle && l.first {
		wasIdle = l.p.idleAt(now)
	}
	l.mu.Lock()
	l.lastCall = now
	backlog := got && l.got
	l.got = got
	tell := false
	switch {
	case !got:
		l.fromIdle = false
	case wasIdle:
		l.fromIdle = true // the first task after idling
	case l.fromIdle:
		l.fromIdle = false // the second in a row
		tell = l.first && l.p.pace
	}
	if got {
		l.lastGot = now
	}
	l.mu.Unlock()
	if got {
		l.p.worked(now)
	}
	if tell && l.p.publish != nil {
		l.p.publish()
	}
	if backlog && l.grow != nil {
		l.grow()
	}
}
