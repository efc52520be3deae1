package shard

import (
	"fmt"
	"slices"

	"github.com/hibiken/asynq"
)

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
