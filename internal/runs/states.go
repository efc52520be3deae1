package runs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"bitqueue/internal/base"
	"bitqueue/internal/rdb"
)

// BatchState is where one batch of a run stands: the package doc says how
// each is decided.
type BatchState int

// The states of a batch.
const (
	BatchPending BatchState = iota
	BatchDone
	BatchFailed
	BatchLost
)

var batchStates = [...]string{BatchPending: "pending", BatchDone: "done", BatchFailed: "failed", BatchLost: "lost"}

func (s BatchState) String() string { return batchStates[s] }

// RunState is where a run stands as a whole.
type RunState int

// The states of a run: running while some batch is not done (pending,
// failed or lost: Status tells which), done once every batch has its
// result, deleted once its record is a tombstone.
const (
	RunRunning RunState = iota
	RunDone
	RunDeleted
)

var runStates = [...]string{RunRunning: "running", RunDone: "done", RunDeleted: "deleted"}

func (s RunState) String() string { return runStates[s] }

// MarshalText writes the state's name, in JSON as in text.
func (s RunState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// runState is the state of rec's run with done of its batches done.
func runState(rec base.Record, done int) RunState {
	switch {
	case rec.Deleted:
		return RunDeleted
	case done >= rec.Batches:
		return RunDone
	}
	return RunRunning
}

// batches is the state of every batch of a run, as assess found it.
type batches struct {
	done int
	// seqs are the batches not done, by seq, with their state and task
	// (nil when they have none).
	seqs   []uint64
	states []BatchState
	infos  []*asynq.TaskInfo
}

// of returns the seqs of the batches in state s, by seq.
func (b batches) of(s BatchState) []uint64 {
	var out []uint64
	for i, st := range b.states {
		if st == s {
			out = append(out, b.seqs[i])
		}
	}
	return out
}

// assess decides the state of every batch of rec's run, the one place that
// does. A batch is done when its result exists: it reads the done bitmap
// (one GET) and checks the result of every marked batch (one PTTL each,
// pipelined), clearing the marks whose result is gone. It looks up the
// asynq task of every batch not done (one round trip each, a few at once),
// and checks the results of those without a task that can run once more, so
// that a batch finishing meanwhile is not called lost; a result found
// without its mark gets its mark.
func (s *Service) assess(ctx context.Context, rec base.Record) (batches, error) {
	missing, err := s.verifiedMissing(ctx, rec.RunID, rec.Batches)
	if err != nil {
		return batches{}, err
	}
	infos, err := s.taskInfos(ctx, rec, missing)
	if err != nil {
		return batches{}, err
	}
	b := batches{done: rec.Batches - len(missing), seqs: missing, infos: infos, states: make([]BatchState, len(missing))}
	var gone []uint64
	for i, info := range infos {
		switch {
		case info == nil || info.State == asynq.TaskStateCompleted:
			gone = append(gone, missing[i])
		case info.State == asynq.TaskStateArchived:
			b.states[i] = BatchFailed
		default:
			b.states[i] = BatchPending
		}
	}
	lost, err := s.stillGone(ctx, rec.RunID, gone)
	if err != nil {
		return batches{}, err
	}
	for i, info := range infos {
		if info != nil && info.State != asynq.TaskStateCompleted {
			continue
		}
		if _, isLost := slices.BinarySearch(lost, missing[i]); isLost {
			b.states[i] = BatchLost
		} else {
			b.states[i] = BatchDone
			b.done++
		}
	}
	return b, nil
}

// verifiedMissing returns the seqs of the run's batches 0..n-1 that have no
// result, by seq: those without a done mark, and those whose mark vouches
// for a result that is gone (expired or deleted), whose mark it clears.
func (s *Service) verifiedMissing(ctx context.Context, runID string, n int) ([]uint64, error) {
	bits, err := s.RDB.DoneBits(ctx, runID)
	if err != nil {
		return nil, fmt.Errorf("read done batches: %w", err)
	}
	var missing, marked []uint64
	for seq := range uint64(n) {
		if bits.Done(seq) {
			marked = append(marked, seq)
		} else {
			missing = append(missing, seq)
		}
	}
	found, err := s.settle(ctx, runID, marked, func(uint64) bool { return true })
	if err != nil {
		return nil, err
	}
	for i, seq := range marked {
		if !found[i] {
			missing = append(missing, seq)
		}
	}
	slices.Sort(missing)
	return missing, nil
}

// stillGone returns those of gone, batches without a task that can run a
// moment ago, that still have no result, by seq (see settle).
func (s *Service) stillGone(ctx context.Context, runID string, gone []uint64) ([]uint64, error) {
	if len(gone) == 0 {
		return nil, nil
	}
	found, err := s.settle(ctx, runID, gone, nil)
	if err != nil {
		return nil, err
	}
	var lost []uint64
	for i, seq := range gone {
		if !found[i] {
			lost = append(lost, seq)
		}
	}
	return lost, nil
}

// settle reports, for each of seqs, whether its result exists (one PTTL
// each, pipelined), and makes the run's done marks say the same: a result
// found without its mark gets its mark, expiring no later than the result;
// a mark found without its result is cleared. marked tells which seqs are
// marked; nil means unknown, and every seq's mark is set or cleared as its
// result says.
func (s *Service) settle(ctx context.Context, runID string, seqs []uint64, marked func(seq uint64) bool) ([]bool, error) {
	left, err := s.RDB.Lifetimes(ctx, runID, seqs)
	if err != nil {
		return nil, fmt.Errorf("read results: %w", err)
	}
	found := make([]bool, len(seqs))
	var repair, stale []uint64
	var within []time.Duration
	for i, seq := range seqs {
		found[i] = left[i] != rdb.Missing
		switch {
		case found[i] && (marked == nil || !marked(seq)):
			repair = append(repair, seq)
			within = append(within, left[i])
		case !found[i] && (marked == nil || marked(seq)):
			stale = append(stale, seq)
		}
	}
	if err := s.RDB.MarkDone(ctx, runID, rdb.Shortest(within...), repair...); err != nil {
		return nil, err
	}
	return found, s.RDB.Unmark(ctx, runID, stale...)
}

// lookups is how many task lookups run at once.
const lookups = 8

// taskInfos returns, for each seq of rec's run, its task's info, or nil when
// the task does not exist.
func (s *Service) taskInfos(ctx context.Context, rec base.Record, seqs []uint64) ([]*asynq.TaskInfo, error) {
	infos := make([]*asynq.TaskInfo, len(seqs))
	insp := s.RDB.Inspector()
	err := forEach(ctx, len(seqs), func(i int) error {
		id := base.TaskID(rec.RunID, seqs[i])
		queue := queueOf(rec, seqs[i])
		info, err := insp.GetTaskInfo(queue, id)
		switch {
		case err == nil:
			infos[i] = info
		case errors.Is(err, asynq.ErrTaskNotFound), errors.Is(err, asynq.ErrQueueNotFound):
		default:
			return fmt.Errorf("look up task %s in queue %s: %w", id, queue, err)
		}
		return nil
	})
	return infos, err
}

// forEach calls fn with 0..n-1, lookups at a time, and returns its first
// error (or ctx's), having stopped handing out more.
func forEach(ctx context.Context, n int, fn func(i int) error) error {
	var (
		mu    sync.Mutex
		next  int
		first error
		wg    sync.WaitGroup
	)
	for range min(lookups, n) {
		wg.Go(func() {
			for {
				mu.Lock()
				if first == nil {
					first = ctx.Err()
				}
				if first != nil || next >= n {
					mu.Unlock()
					return
				}
				i := next
				next++
				mu.Unlock()
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return first
}
