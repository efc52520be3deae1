// Package tasks holds the conversion of a batch: the task constructor, the
// handler that turns a batch's payload into its packed result, and Pack,
// the conversion itself. The wire formats are package base's.
package tasks

import (
	"bitqueue/internal/base"
	"context"
	"fmt"

	"github.com/hibiken/asynq"
)

// NewBitsTask returns the task that converts batch b, with its task id set so
// that enqueueing the same batch twice is refused by asynq rather than run
// twice. opts are added after the id (queue, retries, timeouts). The task
// has no headers.
func NewBitsTask(b base.Batch, opts ...asynq.Option) (*asynq.Task, error) {
	return NewBitsTaskWithContext(context.Background(), b, opts...)
}

// NewBitsTaskWithContext is NewBitsTask for a batch enqueued within ctx:
// when ctx holds a span (tracing is on), the task carries its W3C trace
// context in its headers (traceparent, and tracestate when there is one),
// and the worker's span of the batch joins the trace. Otherwise the task is
// NewBitsTask's, headers and all: none.
func NewBitsTaskWithContext(ctx context.Context, b base.Batch, opts ...asynq.Option) (*asynq.Task, error) {
	payload, err := base.EncodeBatch(b)
	if err != nil {
		return nil, fmt.Errorf("batch %s: %w", base.TaskID(b.RunID, b.Seq), err)
	}
	opts = append([]asynq.Option{asynq.TaskID(base.TaskID(b.RunID, b.Seq))}, opts...)
	if h := traceHeaders(ctx); h != nil {
		return asynq.NewTaskWithHeaders(base.TypeBits, payload, h, opts...), nil
	}
	return asynq.NewTask(base.TypeBits, payload, opts...), nil
}
