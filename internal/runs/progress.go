package runs

import (
	"time"

	"bitqueue/internal/base"
)

// DefaultUnservedAfter is how long a queue of the run may go without a worker
// serving it before Wait reports it, unless Watch.UnservedAfter says
// otherwise.
const DefaultUnservedAfter = 10 * time.Second

// DefaultServerCheck is how often Wait lists the workers (asynq's servers)
// to see which of the run's queues they serve, unless Watch.ServerCheck says
// otherwise.
const DefaultServerCheck = 2 * time.Second

// Watch is what Wait reports to while it waits: it tells, and does not
// write; the command decides how to show it. Wait calls its funcs from its
// own goroutine, one at a time; either may be nil.
type Watch struct {
	// Progress is called after every poll of the done count (every 50 to
	// 500 ms) and once more, with Done equal to Total, when every batch is
	// done. It paces its output itself.
	Progress func(ProgressInfo)
	// Unserved is called when some of the run's queues have had no worker
	// serving them for UnservedAfter: once, and again only after a worker
	// served them all and they went unserved again.
	Unserved func(Unserved)
	// UnservedAfter is how long a queue may go unserved before Unserved is
	// called (DefaultUnservedAfter).
	UnservedAfter time.Duration
	// Paused is called when some of the run's queues are found paused: at
	// the first check that sees them, and again only when a queue not
	// paused at the check before is.
	Paused func(Paused)
	// ServerCheck is how often the workers are listed while Unserved is set
	// (DefaultServerCheck): one asynq Inspector.Servers call, which reads
	// each worker's record and those of the batches it holds; and how often
	// the queues are checked for a pause while Paused is set, one EXISTS a
	// queue in one round trip.
	ServerCheck time.Duration
}

// ProgressInfo is how far a run has come, at one poll of Wait.
type ProgressInfo struct {
	RunID string
	// Done and Total count batches.
	Done, Total int
	// Integers is the number of integers in the done batches: BatchSize in
	// each, the run's at most, so exact once every batch is done.
	Integers uint64
	// TotalIntegers is the number of integers in the run.
	TotalIntegers uint64
	// Elapsed is the time since Wait began.
	Elapsed time.Duration
}

// Finished reports whether every batch of the run is done.
func (p ProgressInfo) Finished() bool { return p.Done >= p.Total }

// Unserved reports queues of a run that no worker has served for a while:
// no asynq server in state "active" lists them, so nothing pulls their
// batches.
type Unserved struct {
	RunID string
	// Queues are the run's queues no worker serves, in the run's order.
	Queues []string
	// For is how long they have gone unserved, as seen by Wait: at least
	// Watch.UnservedAfter.
	For time.Duration
	// Prefixes, when set, are the key prefixes of the workers that do serve
	// the queues: none of them listens under the run's prefix, so they write
	// its results where the producer does not look (a --prefix mismatch).
	Prefixes []string
}

// Paused reports queues of a run that are paused: workers serve them but
// take no batch from them until they are resumed (`asynq queue unpause`).
type Paused struct {
	RunID string
	// Queues are the run's queues paused now, in the run's order.
	Queues []string
}

// progressOf returns the progress of rec's run with done of its batches
// done.
func progressOf(rec base.Record, done int, elapsed time.Duration) ProgressInfo {
	return ProgressInfo{
		RunID:         rec.RunID,
		Done:          done,
		Total:         rec.Batches,
		Integers:      min(uint64(done)*uint64(max(rec.BatchSize, 1)), rec.Integers),
		TotalIntegers: rec.Integers,
		Elapsed:       elapsed,
	}
}
