package runs

import (
	"bitqueue/internal/base"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"bitqueue/internal/outage"
	"bitqueue/internal/results"
	"bitqueue/internal/shard"
	"bitqueue/internal/wake"
)

// DefaultLostAfter is how long Wait lets the done count stand still before it
// looks for lost batches, unless Producer.LostAfter says otherwise.
const DefaultLostAfter = 10 * time.Second

// Poll intervals of Wait: it polls every minPoll while batches get done, and
// backs off to maxPoll while the count stands still.
const (
	minPoll = 50 * time.Millisecond
	maxPoll = 500 * time.Millisecond
)

// FailedError reports batches that failed permanently (asynq archived them).
type FailedError struct {
	IDs    []string // task ids, "<run-id>:<seq>"
	Reason string   // the last error of the first of them
}

func (e *FailedError) Error() string {
	return fmt.Sprintf("%d batch(es) failed permanently: %s (last error: %s)", len(e.IDs), strings.Join(e.IDs, ", "), e.Reason)
}

// LostError reports batches of a run that nothing will ever finish: no
// result, not marked done, and no task to run (none in any asynq state, or
// one kept as completed whose result is gone).
type LostError struct {
	RunID string
	IDs   []string // task ids of the first MaxListed lost batches, by seq
	Count int      // lost batches in all
}

func (e *LostError) Error() string {
	s := fmt.Sprintf("run %s: %d batch(es) lost (no result and no task): %s", e.RunID, e.Count, strings.Join(e.IDs, ", "))
	if e.Count > len(e.IDs) {
		s += fmt.Sprintf(", … (%d more)", e.Count-len(e.IDs))
	}
	return s
}

// Wait polls Redis until every one of the run's batches is done, telling w
// how far the run has come after every poll (w.Progress) and when no worker
// serves some of its queues (w.Unserved); it writes nothing itself. Each poll
// is one BITCOUNT of the run's done bitmap, whatever the number of batches;
// about once a second it also looks for archived batches, a constant number
// of commands per queue while none is archived; while w.Unserved is set, it
// lists asynq's servers every w.ServerCheck. It polls every 50 ms while
// batches get done, backing off to 500 ms while none does.
//
// Once every batch is marked done, it checks once that each mark's result
// exists (see assess): a mark whose result is gone is cleared and its batch
// waited for again.
//
// It returns a *FailedError as soon as a batch of the run has been archived;
// a *LostError when, the count having stood still for LostAfter, a batch has
// neither result nor task; a *DeletedError or a *GoneError when, at that
// point, the run's record is a tombstone or gone; and ctx's error (with how
// many batches are missing) when ctx ends first. It rides out a Redis outage of up to
// RedisWait (a restart, a failover), logging one line when the outage begins
// and one when it ends.
func (p *Producer) Wait(ctx context.Context, runID string, batches int, w Watch) error {
	o := outage.New(p.RedisWait, p.Logger)
	start := time.Now()
	lostAfter := p.LostAfter
	if lostAfter <= 0 {
		lostAfter = DefaultLostAfter
	}
	var workers *workerWatch
	if w.Unserved != nil {
		workers = newWorkerWatch(p.Inspector.Servers, p.Queues(), w)
		workers.elsewhereNow = func() ([]string, error) { return p.elsewhere(ctx, runID, nil) }
	}
	stallLimit := lostAfter
	interval := minPoll
	last, lastChange := -1, time.Now()
	lastArchiveCheck := time.Time{}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		var done int
		err := o.Do(ctx, "count done batches", func() (err error) {
			done, err = p.Store.DoneCount(ctx, runID)
			return err
		})
		if err != nil {
			if ctx.Err() != nil {
				return waitErr(ctx, runID, batches, last)
			}
			return fmt.Errorf("wait for results: %w", err)
		}
		if done >= batches {
			// Every batch is marked: done, once each mark is found to
			// vouch for a result (one PTTL per batch, once). Marks
			// whose result is gone are cleared, and the wait goes on
			// until those batches are done again or found lost.
			var missing []uint64
			err := o.Do(ctx, "check results", func() (err error) {
				missing, err = verifiedMissing(ctx, p.Store, runID, batches)
				return err
			})
			switch {
			case err != nil && ctx.Err() != nil:
				return waitErr(ctx, runID, batches, last)
			case err != nil:
				return err
			}
			done = batches - len(missing)
		}
		if w.Progress != nil {
			w.Progress(p.progressOf(runID, min(done, batches), batches, w, time.Since(start)))
		}
		if done >= batches {
			return nil
		}
		if done != last {
			last, lastChange, interval, stallLimit = done, time.Now(), minPoll, lostAfter
		} else {
			interval = min(2*interval, maxPoll)
		}
		if time.Since(lastArchiveCheck) >= time.Second {
			lastArchiveCheck = time.Now()
			var failed *FailedError
			err := o.Do(ctx, "check for failed batches", func() error {
				err := p.checkArchived(ctx, runID, batches)
				if errors.As(err, &failed) {
					return nil // a finding, not a Redis error
				}
				return err
			})
			switch {
			case err != nil && ctx.Err() != nil:
				return waitErr(ctx, runID, batches, last)
			case err != nil:
				return err
			case failed != nil:
				return failed
			}
		}
		if time.Since(lastChange) >= stallLimit {
			var lost *LostError
			err := o.Do(ctx, "read the batches not done", func() (err error) {
				lost, err = p.findLost(ctx, runID)
				return err
			})
			var gone *GoneError
			var deleted *DeletedError
			var misplaced *MisplacedError
			switch {
			case err != nil && ctx.Err() != nil:
				return waitErr(ctx, runID, batches, last)
			case errors.As(err, &gone), errors.As(err, &deleted), errors.As(err, &misplaced):
				return err
			case err != nil:
				return fmt.Errorf("look for lost batches: %w", err)
			case lost != nil:
				return lost
			}
			// Every batch left has a task: workers are busy or away. Look
			// again later, less often while nothing moves.
			lastChange, stallLimit = time.Now(), min(2*stallLimit, 10*lostAfter)
		}
		if workers != nil {
			queues, unservedFor, err := workers.check(time.Now())
			switch {
			case err != nil && p.Logger != nil:
				p.Logger.Debug("could not list the workers", "err", err)
			case queues != nil:
				w.Unserved(Unserved{RunID: runID, Queues: queues, For: unservedFor, Prefixes: workers.elsewhere})
			}
		}
		timer.Reset(interval)
		select {
		case <-ctx.Done():
			return waitErr(ctx, runID, batches, last)
		case <-timer.C:
		}
	}
}

func waitErr(ctx context.Context, runID string, batches, done int) error {
	return fmt.Errorf("%w: %d of %d batches of run %s have no result yet", context.Cause(ctx), batches-max(done, 0), batches, runID)
}

// checkArchived returns a *FailedError when a batch of the run not marked
// done is in the archive of its queue. While no queue of the run has an
// archived task, it costs one queue lookup per queue.
func (p *Producer) checkArchived(ctx context.Context, runID string, batches int) error {
	var failed FailedError
	for _, q := range p.Queues() {
		if err := p.archivedIn(ctx, q, runID, batches, &failed); err != nil {
			return err
		}
	}
	if len(failed.IDs) == 0 {
		return nil
	}
	// A batch done after all (a result saved before its task failed) is not
	// failed.
	bits, err := p.Store.DoneBits(ctx, runID)
	if err != nil {
		return err
	}
	ids := failed.IDs[:0]
	for _, id := range failed.IDs {
		if seq, ok := base.SeqOf(runID, id); ok && !bits.Done(seq) {
			ids = append(ids, id)
		}
	}
	if failed.IDs = ids; len(ids) == 0 {
		return nil
	}
	return &failed
}

// archivedIn adds to failed the archived tasks of queue that are batches of
// the run.
func (p *Producer) archivedIn(ctx context.Context, queue, runID string, batches int, failed *FailedError) error {
	info, err := shard.QueueInfo(p.Inspector, queue)
	if err != nil {
		return err
	}
	if info.Archived == 0 {
		return nil
	}
	for page := 1; ; page++ {
		list, err := p.Inspector.ListArchivedTasks(queue, asynq.PageSize(1000), asynq.Page(page))
		if err != nil {
			return fmt.Errorf("list archived tasks of %s: %w", queue, err)
		}
		for _, t := range list {
			if seq, ok := base.SeqOf(runID, t.ID); ok && seq < uint64(batches) {
				failed.IDs = append(failed.IDs, t.ID)
				if failed.Reason == "" {
					failed.Reason = t.LastErr
				}
			}
		}
		if len(list) < 1000 || ctx.Err() != nil {
			return nil
		}
	}
}

// findLost returns a *LostError naming the run's lost batches, or nil when
// every batch not done still has a task to run (or is archived: Wait's
// archive check reports those). It reads the done bitmap once and looks up
// the task of each batch not done.
//
// Before that, it reads the run's record: a run deleted meanwhile is a
// *DeletedError, and a run whose record is gone (expired, or lost with
// Redis's data) a *GoneError, since its batches can no longer be told
// apart.
func (p *Producer) findLost(ctx context.Context, runID string) (*LostError, error) {
	rec, err := LoadRecord(ctx, p.Store.Client, p.Store.Root(), runID)
	switch {
	case errors.Is(err, ErrUnknownRun):
		return nil, &GoneError{RunID: runID}
	case err != nil:
		return nil, err
	case rec.State == StateDeleted:
		return nil, &DeletedError{RunID: runID, While: "waited for"}
	}
	b, err := assess(ctx, p.Store, p.Inspector, rec)
	if err != nil {
		return nil, err
	}
	lost := b.of(BatchLost)
	if len(lost) == 0 {
		return nil, nil
	}
	if err := p.misplaced(ctx, runID, lost[0]); err != nil {
		return nil, err
	}
	e := &LostError{RunID: runID, Count: len(lost)}
	for _, seq := range lost[:min(len(lost), MaxListed)] {
		e.IDs = append(e.IDs, base.TaskID(runID, seq))
	}
	return e, nil
}

// MisplacedError reports a run whose batches were done by workers that
// write their results under another key prefix than the producer's: nothing
// is lost, the producer looks in the wrong place.
type MisplacedError struct {
	RunID  string
	Prefix string // the producer's
	Found  string // where a result of the run was found
}

func (e *MisplacedError) Error() string {
	return fmt.Sprintf("run %s: no worker listens under prefix %s, and its results are under prefix %s: the workers run with --prefix %s", e.RunID, e.Prefix, e.Found, e.Found)
}

// misplaced returns a *MisplacedError when batch seq of the run, which has
// no result here, has one under the prefix of a fleet that does the run's
// batches (see elsewhere); nil otherwise.
func (p *Producer) misplaced(ctx context.Context, runID string, seq uint64) error {
	others, err := p.elsewhere(ctx, runID, &seq)
	if err != nil || len(others) == 0 {
		return err
	}
	return &MisplacedError{RunID: runID, Prefix: p.Store.Root(), Found: others[0]}
}

// elsewhere returns the other key prefixes under which the run's batches
// are being done: when no worker listens on the wake channel of the
// producer's prefix (every worker listens on its own fleet's: package
// wake), the prefixes of the fleets that do listen and hold results of the
// run — batch seq's result when seq is given, any done mark otherwise.
func (p *Producer) elsewhere(ctx context.Context, runID string, seq *uint64) ([]string, error) {
	ours, others, err := wake.Listeners(ctx, p.Store.Client, p.Store.Root())
	if err != nil || ours != 0 {
		return nil, err
	}
	var found []string
	for _, prefix := range others {
		there := &results.Store{Client: p.Store.Client, Prefix: prefix}
		var has bool
		if seq != nil {
			exist, err := there.Exist(ctx, runID, []uint64{*seq})
			if err != nil {
				return nil, err
			}
			has = exist[0]
		} else {
			n, err := there.DoneCount(ctx, runID)
			if err != nil {
				return nil, err
			}
			has = n > 0
		}
		if has {
			found = append(found, prefix)
		}
	}
	return found, nil
}
