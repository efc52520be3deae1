package runs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"

	"bitqueue/internal/base"
	"bitqueue/internal/rdb"
	"bitqueue/internal/tracing"
)

// Poll intervals of Wait: it polls every minPoll while batches get done, and
// backs off to maxPoll while the count stands still.
const (
	minPoll = 50 * time.Millisecond
	maxPoll = 500 * time.Millisecond
)

// Wait polls Redis until every one of rec's batches is done, telling w
// how far the run has come after every poll (w.Progress), when no worker
// serves some of its queues (w.Unserved) and when some are paused
// (w.Paused); it writes nothing itself. Each poll is one BITCOUNT of the
// run's done bitmap, whatever the number of batches; about once a second it
// also looks for archived batches, a constant number of commands per queue
// while none is archived; while w.Unserved is set, it lists asynq's servers
// every w.ServerCheck, and while w.Paused is set, it reads which queues are
// paused as often. It polls every 50 ms while batches get done, backing off
// to 500 ms while none does.
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
func (s *Service) Wait(ctx context.Context, rec base.Record, w Watch) (err error) {
	ctx, span := s.Tracer.Start(ctx, SpanWait)
	defer func() { tracing.End(span, err) }()
	return s.wait(ctx, rec, w)
}

func (s *Service) wait(ctx context.Context, rec base.Record, w Watch) error {
	o := s.rider
	runID, batches := rec.RunID, rec.Batches
	start := time.Now()
	lostAfter := s.LostAfter
	queues := base.Queues(rec.Queue, rec.Shards)
	var workers *workerWatch
	if w.Unserved != nil {
		workers = newWorkerWatch(s.RDB.Inspector().Servers, queues, w)
		workers.elsewhereNow = func() ([]string, error) { return s.elsewhere(ctx, runID, nil) }
	}
	var paused *pausedWatch
	if w.Paused != nil {
		paused = newPausedWatch(func() ([]string, error) { return s.RDB.PausedQueues(ctx, queues) }, w)
	}
	stallLimit := lostAfter
	interval := minPoll
	last, lastChange := -1, time.Now()
	lastArchiveCheck := time.Time{}
	timer := time.NewTimer(0)
	defer timer.Stop()
	// stepErr is what the wait returns when one of its steps fails: ctx's
	// end, if that is why; a finding about the run (gone, deleted,
	// misplaced) as it is; any other error as a failure of the wait.
	stepErr := func(err error) error {
		var gone *GoneError
		var deleted *DeletedError
		var misplaced *MisplacedError
		switch {
		case ctx.Err() != nil:
			return waitErr(ctx, runID, batches, last)
		case errors.As(err, &gone), errors.As(err, &deleted), errors.As(err, &misplaced):
			return err
		default:
			return fmt.Errorf("wait for results: %w", err)
		}
	}
	for {
		var done int
		err := o.Do(ctx, "count done batches", func() (err error) {
			done, err = s.RDB.DoneCount(ctx, runID)
			return err
		})
		if err != nil {
			return stepErr(err)
		}
		if done >= batches {
			// Every batch is marked: done, once each mark is found to
			// vouch for a result (one PTTL per batch, once). Marks
			// whose result is gone are cleared, and the wait goes on
			// until those batches are done again or found lost.
			var missing []uint64
			err := o.Do(ctx, "check results", func() (err error) {
				missing, err = s.verifiedMissing(ctx, runID, batches)
				return err
			})
			if err != nil {
				return stepErr(err)
			}
			done = batches - len(missing)
		}
		if w.Progress != nil {
			w.Progress(progressOf(rec, min(done, batches), time.Since(start)))
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
				err := s.checkArchived(ctx, rec)
				if errors.As(err, &failed) {
					return nil // a finding, not a Redis error
				}
				return err
			})
			switch {
			case err != nil:
				return stepErr(err)
			case failed != nil:
				return failed
			}
		}
		if time.Since(lastChange) >= stallLimit {
			var lost *LostError
			err := o.Do(ctx, "read the batches not done", func() (err error) {
				lost, err = s.findLost(ctx, runID)
				return err
			})
			switch {
			case err != nil:
				return stepErr(err)
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
			case err != nil:
				s.Logger.Debug("could not list the workers", "err", err)
			case queues != nil:
				w.Unserved(Unserved{RunID: runID, Queues: queues, For: unservedFor, Prefixes: workers.elsewhere})
			}
		}
		if paused != nil {
			queues, err := paused.check(time.Now())
			switch {
			case err != nil:
				s.Logger.Debug("could not read which queues are paused", "err", err)
			case queues != nil:
				w.Paused(Paused{RunID: runID, Queues: queues})
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

// checkArchived returns a *FailedError when a batch of rec's run not marked
// done is in the archive of its queue. While no queue of the run has an
// archived task, it costs one queue lookup per queue.
func (s *Service) checkArchived(ctx context.Context, rec base.Record) error {
	var failed FailedError
	for _, q := range base.Queues(rec.Queue, rec.Shards) {
		if err := s.archivedIn(ctx, q, rec, &failed); err != nil {
			return err
		}
	}
	if len(failed.IDs) == 0 {
		return nil
	}
	// A batch done after all (a result saved before its task failed) is not
	// failed.
	bits, err := s.RDB.DoneBits(ctx, rec.RunID)
	if err != nil {
		return err
	}
	ids := failed.IDs[:0]
	for _, id := range failed.IDs {
		if seq, ok := base.SeqOf(rec.RunID, id); ok && !bits.Done(seq) {
			ids = append(ids, id)
		}
	}
	if failed.IDs = ids; len(ids) == 0 {
		return nil
	}
	return &failed
}

// archivedIn adds to failed the archived tasks of queue that are batches of
// rec's run.
func (s *Service) archivedIn(ctx context.Context, queue string, rec base.Record, failed *FailedError) error {
	info, err := s.RDB.QueueInfo(queue)
	if err != nil {
		return err
	}
	if info.Archived == 0 {
		return nil
	}
	for page := 1; ; page++ {
		list, err := s.RDB.Inspector().ListArchivedTasks(queue, asynq.PageSize(1000), asynq.Page(page))
		if err != nil {
			return fmt.Errorf("list archived tasks of %s: %w", queue, err)
		}
		for _, t := range list {
			if seq, ok := base.SeqOf(rec.RunID, t.ID); ok && seq < uint64(rec.Batches) {
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
// archive check reports those). It reads the run's record first: a run
// deleted meanwhile is a *DeletedError, and a run whose record is gone
// (expired, or lost with Redis's data) a *GoneError, since its batches can
// no longer be told apart. Lost batches whose results are under another
// prefix are a *MisplacedError.
func (s *Service) findLost(ctx context.Context, runID string) (*LostError, error) {
	rec, found, err := s.RDB.LoadRecord(ctx, runID)
	switch {
	case err != nil:
		return nil, err
	case !found:
		return nil, &GoneError{RunID: runID}
	case rec.Deleted:
		return nil, &DeletedError{RunID: runID, While: "waited for"}
	}
	b, err := s.assess(ctx, rec)
	if err != nil {
		return nil, err
	}
	lost := b.of(BatchLost)
	if len(lost) == 0 {
		return nil, nil
	}
	if others, err := s.elsewhere(ctx, runID, &lost[0]); err != nil || len(others) > 0 {
		if err == nil {
			err = &MisplacedError{RunID: runID, Prefix: s.RDB.Prefix(), Found: others[0]}
		}
		return nil, err
	}
	e := &LostError{RunID: runID, Count: len(lost)}
	for _, seq := range lost[:min(len(lost), MaxListed)] {
		e.IDs = append(e.IDs, base.TaskID(runID, seq))
	}
	return e, nil
}

// elsewhere returns the other key prefixes under which the run's batches
// are being done: when no worker listens on the wake channel of the
// service's prefix (every worker listens on its own fleet's), the prefixes
// of the fleets that do listen and hold results of the run — batch seq's
// result when seq is given, any done mark otherwise.
func (s *Service) elsewhere(ctx context.Context, runID string, seq *uint64) ([]string, error) {
	ours, others, err := s.RDB.Listeners(ctx)
	if err != nil || ours != 0 {
		return nil, err
	}
	var found []string
	for _, prefix := range others {
		there := s.RDB.WithPrefix(prefix)
		var has bool
		if seq != nil {
			left, err := there.Lifetimes(ctx, runID, []uint64{*seq})
			if err != nil {
				return nil, err
			}
			has = left[0] != rdb.Missing
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
