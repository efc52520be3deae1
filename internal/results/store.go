// Package results stores and reads batch results in Redis under the key
// layout of the result contract.
package results

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"bitqueue/internal/layout"
	"bitqueue/internal/tasks"
)

// DefaultPrefix and DefaultTTL are layout's, for the callers that still
// name them here.
const (
	DefaultPrefix = layout.DefaultPrefix
	DefaultTTL    = layout.DefaultTTL
)

// Key returns the key of batch seq of a run (layout.ResultKey).
func Key(prefix, runID string, seq uint64) string { return layout.ResultKey(prefix, runID, seq) }

// Store reads and writes results. Prefix defaults to DefaultPrefix and TTL to
// DefaultTTL.
type Store struct {
	Client redis.UniversalClient
	Prefix string
	TTL    time.Duration
}

// ErrNotFound is returned by Load for a batch without a result.
var ErrNotFound = errors.New("result not found")

func (s *Store) key(runID string, seq uint64) string {
	p := s.Prefix
	if p == "" {
		p = DefaultPrefix
	}
	return Key(p, runID, seq)
}

// Save writes a result and its TTL in one atomic step, replacing whatever the
// key held, so a redelivered batch leaves the same hash behind.
func (s *Store) Save(ctx context.Context, runID string, seq uint64, r tasks.Result) error {
	ttl := s.TTL
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	key := s.key(runID, seq)
	cmds, err := s.Client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, key)
		p.HSet(ctx, key,
			tasks.FieldVersion, tasks.ResultVersion,
			tasks.FieldCount, r.Count,
			tasks.FieldWidth, r.Width,
			tasks.FieldBits, r.Bits)
		p.PExpire(ctx, key, ttl)
		return nil
	})
	if err != nil {
		// EXECABORT alone does not say why: the queued command refused
		// does (LOADING while Redis loads its data after a restart, OOM
		// when it is full).
		for _, c := range cmds {
			if cerr := c.Err(); cerr != nil && cerr.Error() != err.Error() {
				return fmt.Errorf("%w (%s: %v)", err, c.Name(), cerr)
			}
		}
	}
	return err
}

// Load reads and checks the result of one batch; ErrNotFound when it has none.
func (s *Store) Load(ctx context.Context, runID string, seq uint64) (tasks.Result, error) {
	key := s.key(runID, seq)
	h, err := s.Client.HGetAll(ctx, key).Result()
	if err != nil {
		return tasks.Result{}, err
	}
	if len(h) == 0 {
		return tasks.Result{}, fmt.Errorf("%s: %w", key, ErrNotFound)
	}
	r, err := tasks.ParseResult(h)
	if err != nil {
		return tasks.Result{}, fmt.Errorf("%s: %w", key, err)
	}
	return r, nil
}

// Exist reports, for each seq, whether its batch has a result, in pipelined
// round trips of at most 1000 keys.
func (s *Store) Exist(ctx context.Context, runID string, seqs []uint64) ([]bool, error) {
	out := make([]bool, 0, len(seqs))
	for start := 0; start < len(seqs); start += 1000 {
		chunk := seqs[start:min(start+1000, len(seqs))]
		cmds := make([]*redis.IntCmd, len(chunk))
		_, err := s.Client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, seq := range chunk {
				cmds[i] = p.Exists(ctx, s.key(runID, seq))
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		for _, c := range cmds {
			out = append(out, c.Val() == 1)
		}
	}
	return out, nil
}
