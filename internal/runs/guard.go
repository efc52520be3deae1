package runs

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// How a producer keeps its enqueues within a live run: it reads the run's
// record every guardEvery, and enqueues only while its last reading, at most
// guardFresh old, found the run live. Delete waits TombstoneSettle after
// writing the tombstone before it deletes the run's tasks, so that no
// producer's enqueue lands after that.
const (
	guardEvery = 100 * time.Millisecond
	guardFresh = 500 * time.Millisecond
	// TombstoneSettle is how long Delete waits between the tombstone and
	// the deletion of the run's tasks: longer than guardFresh, plus the
	// round trip of an enqueue started just before.
	TombstoneSettle = time.Second
)

// recordGuard tells a producer whether its run is still live: neither
// deleted (a tombstone) nor gone (its record vanished, as when Redis lost
// its data).
type recordGuard struct {
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	changed chan struct{} // closed and replaced at each reading
	err     error         // a *DeletedError or *GoneError, once found
	at      time.Time     // the last reading that found the run live
}

// watchRecord reads runID's record every guardEvery until stop is called; a
// reading that fails for longer than RedisWait makes live fail too.
func (s *Service) watchRecord(ctx context.Context, runID string) *recordGuard {
	ctx, cancel := context.WithCancel(ctx)
	g := &recordGuard{changed: make(chan struct{}), cancel: cancel, done: make(chan struct{}), at: time.Now()}
	go func() {
		defer close(g.done)
		t := time.NewTicker(guardEvery)
		defer t.Stop()
		for {
			exists, deleted, err := s.RDB.RecordState(ctx, runID)
			if err != nil && ctx.Err() != nil {
				return
			}
			g.mu.Lock()
			switch {
			case err != nil:
				if time.Since(g.at) > s.RedisWait {
					g.err = fmt.Errorf("could not read run %s's record for %s: %w", runID, s.RedisWait, err)
				}
			case !exists:
				g.err = &GoneError{RunID: runID}
			case deleted:
				g.err = &DeletedError{RunID: runID, While: "being enqueued"}
			default:
				g.at = time.Now()
			}
			close(g.changed)
			g.changed = make(chan struct{})
			stopped := g.err != nil
			g.mu.Unlock()
			if stopped {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return g
}

// live returns nil when the run was found live at most guardFresh ago,
// waiting for a fresh reading otherwise; a *DeletedError or a *GoneError
// once the run was found deleted or gone.
func (g *recordGuard) live(ctx context.Context) error {
	for {
		g.mu.Lock()
		err, at, changed := g.err, g.at, g.changed
		g.mu.Unlock()
		switch {
		case err != nil:
			return err
		case time.Since(at) < guardFresh:
			return nil
		}
		select {
		case <-changed:
		case <-g.done:
			g.mu.Lock()
			err := g.err
			g.mu.Unlock()
			if err == nil {
				err = errors.New("run guard stopped")
			}
			return err
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}

func (g *recordGuard) stop() {
	g.cancel()
	<-g.done
}
