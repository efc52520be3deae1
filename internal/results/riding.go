package results

import (
	"bitqueue/internal/base"
	"context"

	"bitqueue/internal/outage"
	"bitqueue/internal/tasks"
)

// RidingStore saves results through a Redis outage: a save failing with a
// transient error is retried by Rider until Redis answers, the Rider's bound
// passes or ctx (the task's) ends. A worker whose save rides out a short
// outage finishes its batch instead of failing it while Redis is away, when
// asynq could not record the failure either.
type RidingStore struct {
	Next  tasks.ResultStore
	Rider *outage.Rider
}

// Save saves r with Next, riding out an outage.
func (s *RidingStore) Save(ctx context.Context, runID string, seq uint64, r base.Result) error {
	return s.Rider.Do(ctx, "save result", func() error { return s.Next.Save(ctx, runID, seq, r) })
}
