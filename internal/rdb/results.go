package rdb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"bitqueue/internal/base"
)

// ErrNotFound is wrapped by LoadResults's error for a batch without a
// result.
var ErrNotFound = errors.New("result not found")

// Batch is one batch's result, as SaveResults takes it.
type Batch struct {
	RunID  string
	Seq    uint64
	Result base.Result
}

// SaveResults writes the result hash of every batch of bs with its TTL,
// replacing whatever each key held (a redelivered batch leaves the same hash
// behind), and sets each batch's bit in its run's done bitmap, which then
// expires no later than ttl from now: a done bitmap never outlives the
// first result it vouches for. On a single Redis (or one behind Sentinel)
// everything goes in one MULTI/EXEC, one round trip: either all of bs is
// stored or none. On a Redis Cluster, where a result and its bitmap may sit
// on different slots, each batch is two transactions, result first; a
// failure between them leaves a result without its mark, which the
// producer repairs (it checks results) and a retry of the batch repairs too.
func (r *RDB) SaveResults(ctx context.Context, ttl time.Duration, bs []Batch) error {
	if !r.cluster {
		return r.writeResults(ctx, ttl, bs, true)
	}
	for _, b := range bs {
		if err := r.writeResults(ctx, ttl, []Batch{b}, false); err != nil {
			return err
		}
		if err := r.MarkDone(ctx, b.RunID, ttl, b.Seq); err != nil {
			return err
		}
	}
	return nil
}

// writeResults writes bs's results, with their done bits when markDone is
// set, in one transaction.
func (r *RDB) writeResults(ctx context.Context, ttl time.Duration, bs []Batch, markDone bool) error {
	cmds, err := r.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for i, b := range bs {
			key := base.ResultKey(r.prefix, b.RunID, b.Seq)
			p.Del(ctx, key)
			p.HSet(ctx, key,
				base.FieldVersion, base.ResultVersion,
				base.FieldCount, b.Result.Count,
				base.FieldWidth, b.Result.Width,
				base.FieldBits, b.Result.Bits)
			p.PExpire(ctx, key, ttl)
			if !markDone {
				continue
			}
			done := base.DoneKey(r.prefix, b.RunID)
			p.SetBit(ctx, done, int64(b.Seq), 1)
			if i == len(bs)-1 || bs[i+1].RunID != b.RunID {
				expireNoLater(ctx, p, done, ttl)
			}
		}
		return nil
	})
	if err != nil {
		return execErr(cmds, err)
	}
	return nil
}

// MarkDone sets the bits of seqs in the run's done bitmap and makes the
// bitmap expire no later than left from now, in one transaction on that one
// key: a bitmap never outlives a result it vouches for. left is the time the
// shortest-lived of the seqs' results has left (Shortest of Lifetimes); not
// positive means the results never expire. Setting a bit twice counts it
// once.
func (r *RDB) MarkDone(ctx context.Context, runID string, left time.Duration, seqs ...uint64) error {
	if len(seqs) == 0 {
		return nil
	}
	key := base.DoneKey(r.prefix, runID)
	cmds, err := r.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, seq := range seqs {
			p.SetBit(ctx, key, int64(seq), 1)
		}
		if left > 0 {
			expireNoLater(ctx, p, key, left)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("mark done in %s: %w", key, execErr(cmds, err))
	}
	return nil
}

// Unmark clears the bits of seqs in the run's done bitmap: marks found
// without their result, which no longer vouch for anything.
func (r *RDB) Unmark(ctx context.Context, runID string, seqs ...uint64) error {
	if len(seqs) == 0 {
		return nil
	}
	key := base.DoneKey(r.prefix, runID)
	cmds, err := r.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, seq := range seqs {
			p.SetBit(ctx, key, int64(seq), 0)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("clear done marks in %s: %w", key, execErr(cmds, err))
	}
	return nil
}

// expireNoLater queues a PEXPIRE … LT of key: the key expires in d, unless
// it already expires sooner (a key without expiry gets one).
func expireNoLater(ctx context.Context, p redis.Pipeliner, key string, d time.Duration) {
	p.Do(ctx, "pexpire", key, max(d.Milliseconds(), 1), "lt")
}

// DoneCount returns how many batches of the run are marked done: one
// BITCOUNT, whatever the number of batches.
func (r *RDB) DoneCount(ctx context.Context, runID string) (int, error) {
	n, err := r.client.BitCount(ctx, base.DoneKey(r.prefix, runID), nil).Result()
	return int(n), err
}

// DoneBits returns the run's done bitmap (one GET). A missing bitmap is
// empty.
func (r *RDB) DoneBits(ctx context.Context, runID string) (base.Bitmap, error) {
	b, err := r.client.Get(ctx, base.DoneKey(r.prefix, runID)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	return b, err
}

// DoneRange returns the part of the run's done bitmap that holds the bits of
// batches from..to-1 (one GETRANGE), as a Bitmap whose bit 0 is the first
// bit of the byte holding from's: ask it with Done(seq - from&^7).
func (r *RDB) DoneRange(ctx context.Context, runID string, from, to uint64) (base.Bitmap, error) {
	if to <= from {
		return nil, nil
	}
	b, err := r.client.GetRange(ctx, base.DoneKey(r.prefix, runID), int64(from/8), int64((to-1)/8)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	return b, err
}

// What Lifetimes says of a result that has no expiry, and of one that does
// not exist.
const (
	Forever time.Duration = -1
	Missing time.Duration = -2
)

// Shortest returns the shortest of lifetimes as Lifetimes gives them that
// end (positive), or Forever when none does: how long a done mark may vouch
// for all of them.
func Shortest(lifetimes ...time.Duration) time.Duration {
	shortest := Forever
	for _, d := range lifetimes {
		if d > 0 && (shortest <= 0 || d < shortest) {
			shortest = d
		}
	}
	return shortest
}

// Lifetimes returns, for each seq, how long its batch's result has left
// before it expires: Missing when there is none, Forever when it does not
// expire. It sends one PTTL per seq, in pipelined round trips of at most
// 1000.
func (r *RDB) Lifetimes(ctx context.Context, runID string, seqs []uint64) ([]time.Duration, error) {
	out := make([]time.Duration, 0, len(seqs))
	for start := 0; start < len(seqs); start += 1000 {
		chunk := seqs[start:min(start+1000, len(seqs))]
		cmds := make([]*redis.DurationCmd, len(chunk))
		_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, seq := range chunk {
				cmds[i] = p.PTTL(ctx, base.ResultKey(r.prefix, runID, seq))
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		for _, c := range cmds {
			switch d := c.Val(); {
			case d == -2:
				out = append(out, Missing)
			case d < 0:
				out = append(out, Forever)
			default:
				out = append(out, d)
			}
		}
	}
	return out, nil
}

// LoadResults reads and checks the results of seqs in one pipelined round
// trip, in order. The error of a batch without a result wraps ErrNotFound;
// every error names the batch's task id and key.
func (r *RDB) LoadResults(ctx context.Context, runID string, seqs []uint64) ([]base.Result, error) {
	cmds := make([]*redis.MapStringStringCmd, len(seqs))
	_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, seq := range seqs {
			cmds[i] = p.HGetAll(ctx, base.ResultKey(r.prefix, runID, seq))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]base.Result, len(seqs))
	for i, c := range cmds {
		key := base.ResultKey(r.prefix, runID, seqs[i])
		h := c.Val()
		if len(h) == 0 {
			return nil, fmt.Errorf("batch %s: %s: %w", base.TaskID(runID, seqs[i]), key, ErrNotFound)
		}
		if out[i], err = base.ParseResult(h); err != nil {
			return nil, fmt.Errorf("batch %s: %s: %w", base.TaskID(runID, seqs[i]), key, err)
		}
	}
	return out, nil
}

// DeleteRun deletes the results of batches 0..batches-1 of the run and its
// done bitmap, in pipelined round trips of at most 1000 keys (one DEL per
// key, as the keys may sit on different cluster slots), and returns how many
// keys it deleted.
func (r *RDB) DeleteRun(ctx context.Context, runID string, batches int) (int, error) {
	deleted := 0
	for start := 0; start < batches; start += 1000 {
		end := min(start+1000, batches)
		cmds := make([]*redis.IntCmd, 0, end-start)
		_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for seq := start; seq < end; seq++ {
				cmds = append(cmds, p.Del(ctx, base.ResultKey(r.prefix, runID, uint64(seq))))
			}
			return nil
		})
		if err != nil {
			return deleted, err
		}
		for _, c := range cmds {
			deleted += int(c.Val())
		}
	}
	n, err := r.client.Del(ctx, base.DoneKey(r.prefix, runID)).Result()
	return deleted + int(n), err
}
