package runs

import (
	"fmt"
	"slices"

	"github.com/hibiken/asynq"

	"bitqueue/internal/shard"
	"bitqueue/internal/tasks"
)

// QueueOf returns the queue batch seq of a run goes to: Queue, or, with
// Shards above 1, the queue of Queue's shards that shard.Of picks for the
// batch's task id. The choice is stable, so a re-run with the same run id and
// shard count finds each still-queued batch where it left it.
func (p *Producer) QueueOf(runID string, seq uint64) string {
	return shard.QueueOf(p.Queue, p.Shards, tasks.TaskID(runID, seq))
}

// Queues returns every queue the producer enqueues on.
func (p *Producer) Queues() []string { return shard.Queues(p.Queue, p.Shards) }

// QueueInfo returns the state of queue, all zero when the queue does not
// exist yet (asynq reports that as an error of its own internal kind).
func QueueInfo(insp *asynq.Inspector, queue string) (*asynq.QueueInfo, error) {
	info, err := insp.GetQueueInfo(queue)
	if err == nil {
		return info, nil
	}
	queues, qerr := insp.Queues()
	if qerr == nil && !slices.Contains(queues, queue) {
		return &asynq.QueueInfo{Queue: queue}, nil
	}
	return nil, fmt.Errorf("inspect queue %s: %w", queue, err)
}
