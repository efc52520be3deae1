package worker

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/hibiken/asynq"
)

// loops runs the dequeue loops of a worker process. asynq's processor pulls
// one task per round trip to Redis, from one goroutine, so one asynq server
// pulls at most 1 / (RTT + dequeue) tasks a second, whatever its
// concurrency; a process far from Redis runs several servers, its loops, all
// serving the one handler built from the one state of the startup hook.
//
// The first loop is an asynq server on Config.RDB for the whole of Serve:
// it alone forwards retries, cleans expired tasks and checks Redis's health,
// it alone polls an empty queue, and it alone runs while the process is
// idle, so that an idle process costs Redis what a one-loop process does.
// Each other loop is an asynq server on a Redis client of its own
// (Config.Open: the pacer's hook tells one loop's dequeue calls from
// another's by their client), and goes through these states:
//
//	stopped  → running   a loop found a task right after finding one (a
//	                     backlog; loopPace.grow), no loop is parked, and
//	                     fewer than Loops run
//	running  → parked    a poll of its found nothing: it holds its next
//	                     dequeue call back (pacer.park)
//	parked   → running   a loop found a task right after finding one
//	running,
//	parked   → draining  it found no task for IdleAfter (loopPace.retire):
//	                     it sends no more dequeue calls
//	draining → stopped   its tasks in flight have finished: its server shuts
//	                     down, its client closes
//
// and, from any state, to stopped when Serve's context ends: every server
// shuts down at once, in-flight tasks finish within ShutdownTimeout, the
// rest go back to the queue. A SIGKILL loses nothing either: each server
// holds its tasks under asynq's leases, which its heartbeat extends.
type loops struct {
	cfg     Config
	pacer   *pacer
	handler asynq.Handler
	log     *slog.Logger
	stop    chan struct{}  // closed when the process shuts down
	wg      sync.WaitGroup // the loops beyond the first

	mu         sync.Mutex
	stopping   bool
	slots      []bool // slots[i]: loop i+2 runs (or starts, or drains)
	openFailed bool   // an Open has failed: later failures are logged at debug level
}

func newLoops(cfg Config, p *pacer, handler asynq.Handler) *loops {
	return &loops{cfg: cfg, pacer: p, handler: handler, log: cfg.Logger, stop: make(chan struct{}), slots: make([]bool, cfg.Loops-1)}
}

// grow lets the parked loops go on or, when none is parked, starts one more
// loop, unless Loops run or the process is stopping. It returns at once: a
// loop starts in a goroutine of its own.
func (ls *loops) grow() {
	if ls.pacer.unpark() > 0 {
		return
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.stopping {
		return
	}
	for i, taken := range ls.slots {
		if !taken {
			ls.slots[i] = true
			ls.wg.Add(1)
			go ls.run(i + 2)
			return
		}
	}
}

// run runs loop n (2 and up) from start to stop.
func (ls *loops) run(n int) {
	defer ls.wg.Done()
	defer func() {
		ls.mu.Lock()
		ls.slots[n-2] = false
		ls.mu.Unlock()
	}()
	db, err := ls.cfg.Open()
	if err != nil {
		ls.mu.Lock()
		level := slog.LevelWarn
		if ls.openFailed {
			level = slog.LevelDebug
		}
		ls.openFailed = true
		ls.mu.Unlock()
		ls.log.Log(context.Background(), level, "loop not started: cannot open a Redis client", "loop", n, "err", err)
		return
	}
	defer db.Close()
	retired := make(chan struct{})
	lp := ls.pacer.loop(false, ls.grow, func() { close(retired) }) // retire is told once
	db.HookDequeues(ls.cfg.Queues, lp.before, lp.after)
	var tasks inFlight
	srv := db.NewServer(asynqConfig(ls.cfg, false))
	err = srv.Start(asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		tasks.add(1)
		defer tasks.add(-1)
		return ls.handler.ProcessTask(ctx, t)
	}))
	if err != nil {
		ls.log.Warn("loop not started", "loop", n, "err", err)
		return
	}
	began := time.Now()
	ls.log.Debug("loop started", "loop", n)
	select {
	case <-retired:
		tasks.wait(ls.stop)
	case <-ls.stop:
	}
	srv.Shutdown()
	ls.log.Debug("loop stopped", "loop", n, "ran", time.Since(began).Round(time.Millisecond))
}

// shutdown stops the process's loops: no loop starts from now on, and the
// first loop's server first and every other one shut down at once, so that
// ShutdownTimeout bounds the whole. It returns when all have.
func (ls *loops) shutdown(first *asynq.Server) {
	ls.mu.Lock()
	ls.stopping = true
	close(ls.stop)
	ls.mu.Unlock()
	var wg sync.WaitGroup
	wg.Go(first.Shutdown)
	ls.wg.Wait()
	wg.Wait()
}

// inFlight counts a loop's tasks in its handler.
type inFlight struct {
	mu    sync.Mutex
	n     int
	empty chan struct{} // closed when n falls to 0; nil when nobody waits
}

// add adds d to the count.
func (f *inFlight) add(d int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n += d
	if f.n == 0 && f.empty != nil {
		close(f.empty)
		f.empty = nil
	}
}

// wait returns once no task is in flight, or when stop is closed.
func (f *inFlight) wait(stop <-chan struct{}) {
	f.mu.Lock()
	if f.n == 0 {
		f.mu.Unlock()
		return
	}
	if f.empty == nil {
		f.empty = make(chan struct{})
	}
	empty := f.empty
	f.mu.Unlock()
	select {
	case <-empty:
	case <-stop:
	}
}
