package rdb_test

import (
	"context"
	"time"

	"bitqueue/internal/base"
	"bitqueue/internal/rdb"
)

// store is an RDB whose results take one TTL, with the one-batch calls the
// tests make.
type store struct {
	*rdb.RDB
	ttl time.Duration
}

func (s store) Save(ctx context.Context, runID string, seq uint64, r base.Result) error {
	return s.SaveResults(ctx, s.ttl, []rdb.Batch{{RunID: runID, Seq: seq, Result: r}})
}

func (s store) Load(ctx context.Context, runID string, seq uint64) (base.Result, error) {
	rs, err := s.LoadResults(ctx, runID, []uint64{seq})
	if err != nil {
		return base.Result{}, err
	}
	return rs[0], nil
}

func (s store) LoadMany(ctx context.Context, runID string, seqs []uint64) ([]base.Result, error) {
	return s.LoadResults(ctx, runID, seqs)
}

// Exist reports, for each seq, whether its batch has a result.
func (s store) Exist(ctx context.Context, runID string, seqs []uint64) ([]bool, error) {
	left, err := s.Lifetimes(ctx, runID, seqs)
	if err != nil {
		return nil, err
	}
	out := make([]bool, len(left))
	for i, d := range left {
		out[i] = d != rdb.Missing
	}
	return out, nil
}
