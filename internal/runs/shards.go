package runs

import (
	"bitqueue/internal/base"
)

// QueueOf returns the queue batch seq of a run goes to: Queue, or, with
// Shards above 1, the queue of Queue's shards that base.ShardOf picks for the
// batch's task id. The choice is stable, so a re-run with the same run id and
// shard count finds each still-queued batch where it left it.
func (p *Producer) QueueOf(runID string, seq uint64) string {
	return base.QueueOf(p.Queue, p.Shards, base.TaskID(runID, seq))
}

// Queues returns every queue the producer enqueues on.
func (p *Producer) Queues() []string { return base.Queues(p.Queue, p.Shards) }
