// Package tasks holds the conversion of a batch: the task constructor, the
// handler that turns a batch's payload into its packed result, and Pack,
// the conversion itself. The wire formats are package base's.
package tasks

import (
	"bitqueue/internal/base"
	"fmt"

	"github.com/hibiken/asynq"
)

// NewBitsTask returns the task that converts batch b, with its task id set so
// that enqueueing the same batch twice is refused by asynq rather than run
// twice. opts are added after the id (queue, retries, timeouts).
func NewBitsTask(b base.Batch, opts ...asynq.Option) (*asynq.Task, error) {
	payload, err := base.EncodeBatch(b)
	if err != nil {
		return nil, fmt.Errorf("batch %s: %w", base.TaskID(b.RunID, b.Seq), err)
	}
	opts = append([]asynq.Option{asynq.TaskID(base.TaskID(b.RunID, b.Seq))}, opts...)
	return asynq.NewTask(base.TypeBits, payload, opts...), nil
}
