package runs

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"bitqueue/internal/base"
	"bitqueue/internal/results"
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
	changed chan struct{} // closed and replaced at each reading
	cancel  context.CancelFunc
	done    chan struct{}

	mu     sync.Mutex
	err    error     // a *DeletedError or *GoneError, once found
	at     time.Time // the last reading that found the run live
	failed error     // why the last reading failed, if it did
}

// watchRecord reads runID's record under store's prefix every guardEvery
// until stop is called; a reading that fails for longer than bound makes
// live fail too.
func watchRecord(ctx context.Context, store *results.Store, runID string, bound time.Duration) *recordGuard {
	ctx, cancel := context.WithCancel(ctx)
	g := &recordGuard{changed: make(chan struct{}), cancel: cancel, done: make(chan struct{}), at: time.Now()}
	key := base.RecordKey(store.Root(), runID)
	go func() {
		defer close(g.done)
		t := time.NewTicker(guardEvery)
		defer t.Stop()
		for {
			// "v" is in every record: nil means no record.
			vals, err := store.Client.HMGet(ctx, key, recVersion, recState).Result()
			g.mu.Lock()
			switch {
			case err != nil && ctx.Err() != nil:
				g.mu.Unlock()
				return
			case err != nil:
				g.failed = err
				if time.Since(g.at) > bound {
					g.err = fmt.Errorf("could not read run %s's record for %s: %w", runID, bound, err)
				}
			case vals[0] == nil:
				g.err = &GoneError{RunID: runID}
			case vals[1] == StateDeleted:
				g.err = &DeletedError{RunID: runID, While: "being enqueued"}
			default:
				g.at, g.failed = time.Now(), nil
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

// StoppedError is returned by Enqueue when the run was deleted, or its
// record vanished, while it was being enqueued: it stopped, having done
// Stats.
type StoppedError struct {
	Err   error // a *DeletedError or a *GoneError
	Stats EnqueueStats
}

func (e *StoppedError) Error() string {
	return fmt.Sprintf("%v; enqueueing stopped after %d of %d batches", e.Err, e.Stats.Enqueued+e.Stats.Queued+e.Stats.Done, e.Stats.Batches)
}

func (e *StoppedError) Unwrap() error { return e.Err }
