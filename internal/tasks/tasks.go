// Package tasks holds bitqueue's wire contracts: the task type, the batch
// payload, the packed result format, and the handler that turns one into the
// other.
package tasks

import (
	"fmt"
	"strconv"

	"github.com/hibiken/asynq"
)

// TypeBits is the asynq task type of a batch conversion. It is a wire
// contract: never rename it once deployed.
const TypeBits = "bits:convert"

// TaskID returns the asynq task id of batch seq of a run: "<run-id>:<seq>".
func TaskID(runID string, seq uint64) string {
	return runID + ":" + strconv.FormatUint(seq, 10)
}

// NewBitsTask returns the task that converts batch b, with its task id set so
// that enqueueing the same batch twice is refused by asynq rather than run
// twice. opts are added after the id (queue, retries, timeouts).
func NewBitsTask(b Batch, opts ...asynq.Option) (*asynq.Task, error) {
	payload, err := EncodeBatch(b)
	if err != nil {
		return nil, fmt.Errorf("batch %s: %w", TaskID(b.RunID, b.Seq), err)
	}
	opts = append([]asynq.Option{asynq.TaskID(TaskID(b.RunID, b.Seq))}, opts...)
	return asynq.NewTask(TypeBits, payload, opts...), nil
}
