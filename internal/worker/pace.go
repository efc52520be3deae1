package worker

import (
	"bitqueue/internal/base"
	"context"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"bitqueue/internal/wake"
)

// pacer paces a worker's polls of empty queues: asynq polls every
// BusyPollInterval (its TaskCheckInterval, read once), and the pacer holds
// each poll back while the worker is idle, so that an idle worker polls
// about once per PollInterval and a busy one at asynq's pace.
//
// asynq v0.26.0 offers no hook into its polling: a poll is a call of its
// dequeue script, once per queue, from one goroutine, followed by a sleep of
// TaskCheckInterval (±50 %) when every queue was empty. The pacer is a
// go-redis hook on the worker's client that recognises those calls by their
// keys. Before the first call of a poll (one that follows the previous call
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
	queues    map[string]bool
	publish   func() // tells the fleet that work arrived; nil: nobody to tell
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
		queues:    map[string]bool{},
		stopped:   stopped,
		woken:     make(chan struct{}, 1),
		lastWork:  time.Now(), // a new worker starts busy
	}
	for _, q := range cfg.Queues {
		p.queues[q] = true
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

// isDequeue reports whether cmd is asynq's dequeue script on one of the
// worker's queues: EVALSHA or EVAL with the keys pending, paused, active and
// lease of one queue, "asynq:{<queue>}:pending" and so on.
func (p *pacer) isDequeue(cmd redis.Cmder) bool {
	name := cmd.Name()
	if name != "evalsha" && name != "eval" {
		return false
	}
	args := cmd.Args()
	if len(args) < 7 {
		return false
	}
	if n, ok := args[2].(int); !ok || n != 4 {
		return false
	}
	pending, _ := args[3].(string)
	q, ok := strings.CutPrefix(pending, "asynq:{")
	if !ok {
		return false
	}
	q, ok = strings.CutSuffix(q, "}:pending")
	if !ok || !p.queues[q] {
		return false
	}
	tag := "asynq:{" + q + "}:"
	for i, suffix := range []string{"paused", "active", "lease"} {
		if k, _ := args[4+i].(string); k != tag+suffix {
			return false
		}
	}
	return true
}

// hook is the go-redis hook that paces the dequeue calls.
type paceHook struct{ p *pacer }

func (paceHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (paceHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func (h paceHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	p := h.p
	return func(ctx context.Context, cmd redis.Cmder) error {
		if !p.isDequeue(cmd) {
			return next(ctx, cmd)
		}
		idle, at := p.beforeCall()
		if idle && !p.wait(at) {
			// Shutting down: report the queue empty, so that asynq
			// sleeps and then sees that it is stopping.
			cmd.SetErr(redis.Nil)
			return redis.Nil
		}
		err := next(ctx, cmd)
		p.afterCall(idle, err)
		return err
	}
}

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
func (p *pacer) afterCall(wasIdle bool, err error) {
	p.mu.Lock()
	now := time.Now()
	p.lastCall = now
	wasIdle = wasIdle || now.Sub(p.lastWork) >= p.idleAfter
	got := err == nil
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

// wakeListener listens on the wake-up channels of a fleet (package wake) and
// wakes p (when not nil) on every message until closed. A subscribed connection costs
// Redis nothing while no message flows.
type wakeListener struct {
	rdb    redis.UniversalClient
	prefix string
	sub    *redis.PubSub
	done   chan struct{}
}

func listenWake(ctx context.Context, rdb redis.UniversalClient, prefix string, p *pacer) *wakeListener {
	w := &wakeListener{rdb: rdb, prefix: prefix, sub: rdb.Subscribe(ctx, base.WakeChannels(prefix)...), done: make(chan struct{})}
	// The channel reconnects by itself after a Redis outage; its health
	// check pings Redis only after a minute without a message.
	ch := w.sub.Channel(redis.WithChannelHealthCheckInterval(time.Minute))
	go func() {
		defer close(w.done)
		for range ch {
			if p != nil {
				p.wake()
			}
		}
	}()
	return w
}

// publish wakes the whole fleet in the background; a lost wake-up only
// costs latency.
func (w *wakeListener) publish() {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = wake.Fleet(ctx, w.rdb, w.prefix)
	}()
}

func (w *wakeListener) close() {
	_ = w.sub.Close()
	<-w.done
}
