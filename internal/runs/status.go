package runs

import (
	"context"
	"fmt"

	"github.com/hibiken/asynq"

	"bitqueue/internal/base"
)

// MaxListed is how many batch ids a Status, an error or a command lists per
// kind; the counts are always exact.
const MaxListed = 100

// Status is where every batch of a run stands, each counted once, in Done,
// Pending, Failed or Lost; and the state of the run's queues. It is the
// producer's status output, in JSON as in text.
type Status struct {
	base.Record
	State     RunState `json:"state"`
	Done      int      `json:"done"`
	Pending   int      `json:"pending"`   // enqueued, not done yet: waiting, being processed or to be retried
	Active    int      `json:"active"`    // of Pending: being processed now
	Retry     int      `json:"retry"`     // of Pending: failed, waiting to be retried
	Scheduled int      `json:"scheduled"` // of Pending: waiting for a set time
	Failed    int      `json:"failed"`
	Lost      int      `json:"lost"`
	FailedIDs []string `json:"failed_ids"` // the first MaxListed failed batches' task ids, by seq
	LostIDs   []string `json:"lost_ids"`   // the first MaxListed lost batches' task ids, by seq
	LastError string   `json:"last_error,omitempty"`
	Totals    Totals   `json:"queue_totals"`
}

// Totals is the state of a run's queues, summed over its shards: every
// task in them, the run's or not, the worker processes serving any of them
// (rdb.Workers: a process counts once, whatever its loops), and which of
// them are paused.
type Totals struct {
	Pending        int `json:"pending"`
	Active         int `json:"active"`
	Scheduled      int `json:"scheduled"`
	Retry          int `json:"retry"`
	Archived       int `json:"archived"`
	Completed      int `json:"completed"`
	ProcessedTotal int `json:"processed_total"`
	FailedTotal    int `json:"failed_total"`
	Workers        int `json:"workers"`
	// Paused are the run's queues (its shards, with --shards) that are
	// paused, in shard order; empty when none is. No worker takes a
	// batch from a paused queue until it is resumed.
	Paused []string `json:"paused"`
}

// Status reads where every batch of rec's run stands (assess): one GET of
// its done bitmap, one PTTL per marked batch, and one task lookup per batch
// not done, a few at a time; and the state of its queues. The batches of a
// deleted run are deleted, not lost: they are not counted as lost.
func (s *Service) Status(ctx context.Context, rec base.Record) (Status, error) {
	st := Status{Record: rec, FailedIDs: []string{}, LostIDs: []string{}}
	b, err := s.assess(ctx, rec)
	if err != nil {
		return st, err
	}
	st.Done = b.done
	st.State = runState(rec, b.done)
	for i, seq := range b.seqs {
		id := base.TaskID(rec.RunID, seq)
		info := b.infos[i]
		switch b.states[i] {
		case BatchLost:
			if rec.Deleted {
				continue
			}
			st.Lost++
			if len(st.LostIDs) < MaxListed {
				st.LostIDs = append(st.LostIDs, id)
			}
		case BatchFailed:
			st.Failed++
			if len(st.FailedIDs) < MaxListed {
				st.FailedIDs = append(st.FailedIDs, id)
			}
			if st.LastError == "" {
				st.LastError = info.LastErr
			}
		case BatchPending:
			st.Pending++
			switch info.State {
			case asynq.TaskStateActive:
				st.Active++
			case asynq.TaskStateRetry:
				st.Retry++
			case asynq.TaskStateScheduled:
				st.Scheduled++
			}
		}
	}
	st.Totals, err = s.totals(ctx, base.Queues(rec.Queue, rec.Shards))
	return st, err
}

// totals sums the state of queues, counts the worker processes serving any
// of them and finds those paused.
func (s *Service) totals(ctx context.Context, queues []string) (Totals, error) {
	t := Totals{Paused: []string{}}
	for _, q := range queues {
		info, err := s.RDB.QueueInfo(q)
		if err != nil {
			return Totals{}, err
		}
		t.Pending += info.Pending
		t.Active += info.Active
		t.Scheduled += info.Scheduled
		t.Retry += info.Retry
		t.Archived += info.Archived
		t.Completed += info.Completed
		t.ProcessedTotal += info.ProcessedTotal
		t.FailedTotal += info.FailedTotal
	}
	paused, err := s.RDB.PausedQueues(ctx, queues)
	if err != nil {
		return Totals{}, err
	}
	t.Paused = append(t.Paused, paused...)
	workers, err := s.RDB.Workers(queues)
	if err != nil {
		return Totals{}, fmt.Errorf("list workers: %w", err)
	}
	t.Workers = workers
	return t, nil
}

// Summary is one run of the index of runs, as List finds it.
type Summary struct {
	base.Record
	Done  int      `json:"done"` // batches marked done
	State RunState `json:"state"`
}

// List returns the runs in the index of runs, newest first, with their
// done counts: three pipelined round trips whatever the number of runs. It
// counts done marks, which expire with a run's first result: a result
// deleted by hand shows in Status, not here. It removes from the index the
// runs whose record expired.
func (s *Service) List(ctx context.Context) ([]Summary, error) {
	listed, err := s.RDB.ListRuns(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Summary, len(listed))
	for i, l := range listed {
		out[i] = Summary{Record: l.Record, Done: l.Done, State: runState(l.Record, l.Done)}
	}
	return out, nil
}
