// Package results stores and reads batch results in Redis under the key
// layout of the result contract, and marks each stored batch in its run's
// done bitmap (base.DoneKey), so that a run's progress is one BITCOUNT.
package results

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"bitqueue/internal/base"
)

// Store reads and writes results. Prefix defaults to base.DefaultPrefix and
// TTL to base.DefaultTTL.
type Store struct {
	Client redis.UniversalClient
	Prefix string
	TTL    time.Duration
}

// ErrNotFound is returned by Load for a batch without a result.
var ErrNotFound = errors.New("result not found")

// Root returns the prefix the store's keys are under.
func (s *Store) Root() string {
	if s.Prefix == "" {
		return base.DefaultPrefix
	}
	return s.Prefix
}

func (s *Store) ttl() time.Duration {
	if s.TTL <= 0 {
		return base.DefaultTTL
	}
	return s.TTL
}

func (s *Store) key(runID string, seq uint64) string { return base.ResultKey(s.Root(), runID, seq) }

// Save writes a result and its TTL, replacing whatever the key held, so a
// redelivered batch leaves the same hash behind, and marks the batch done in
// its run's bitmap (MarkDone). On a single Redis (or a sentinel-managed one)
// both happen in one transaction and one round trip. On a Redis Cluster the
// result and the bitmap may sit on different slots, so they are two
// transactions, result first: a failure between them leaves a result without
// its done bit, which the producer repairs (it looks for results of batches
// not marked done) and a retry of the batch repairs too.
func (s *Store) Save(ctx context.Context, runID string, seq uint64, r base.Result) error {
	return s.SaveAll(ctx, []Batch{{RunID: runID, Seq: seq, Result: r}})
}

// Batch is one batch's result, as SaveAll takes it.
type Batch struct {
	RunID  string
	Seq    uint64
	Result base.Result
}

// SaveAll saves every batch of bs as Save does, in one transaction and one
// round trip on a single Redis: either all of them are stored or none. On a
// Redis Cluster it saves them one after another.
func (s *Store) SaveAll(ctx context.Context, bs []Batch) error {
	if !s.onCluster() {
		return s.write(ctx, bs, true)
	}
	for _, b := range bs {
		if err := s.write(ctx, []Batch{b}, false); err != nil {
			return err
		}
		if err := s.MarkDone(ctx, b.RunID, b.Seq); err != nil {
			return err
		}
	}
	return nil
}

// onCluster reports whether the store's client is a Redis Cluster's, whose
// keys of one transaction must share a slot.
func (s *Store) onCluster() bool {
	_, ok := s.Client.(*redis.ClusterClient)
	return ok
}

// write writes bs's results, with their done bits when markDone is set, in
// one transaction.
func (s *Store) write(ctx context.Context, bs []Batch, markDone bool) error {
	ttl := s.ttl()
	cmds, err := s.Client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for i, b := range bs {
			key := s.key(b.RunID, b.Seq)
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
			done := base.DoneKey(s.Root(), b.RunID)
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

// MarkDone sets the bits of seqs in the run's done bitmap, as a save does:
// the bitmap expires no later than the results' TTL from now. Setting a bit
// twice counts it once.
func (s *Store) MarkDone(ctx context.Context, runID string, seqs ...uint64) error {
	return s.MarkDoneWithin(ctx, runID, s.ttl(), seqs...)
}

// MarkDoneWithin sets the bits of seqs in the run's done bitmap and makes
// the bitmap expire no later than left from now, in one transaction on that
// one key: a bitmap never outlives a result it vouches for. left is the time
// the shortest-lived of the seqs' results has left (Lifetimes); not positive
// means the results never expire.
func (s *Store) MarkDoneWithin(ctx context.Context, runID string, left time.Duration, seqs ...uint64) error {
	if len(seqs) == 0 {
		return nil
	}
	key := base.DoneKey(s.Root(), runID)
	cmds, err := s.Client.TxPipelined(ctx, func(p redis.Pipeliner) error {
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
func (s *Store) Unmark(ctx context.Context, runID string, seqs ...uint64) error {
	if len(seqs) == 0 {
		return nil
	}
	key := base.DoneKey(s.Root(), runID)
	cmds, err := s.Client.TxPipelined(ctx, func(p redis.Pipeliner) error {
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
// it already expires sooner (a key without expiry gets one). A run's done
// bitmap is set this way, so that it expires with the first result it
// vouches for rather than the last.
func expireNoLater(ctx context.Context, p redis.Pipeliner, key string, d time.Duration) {
	p.Do(ctx, "pexpire", key, max(d.Milliseconds(), 1), "lt")
}

// execErr adds to a failed transaction's error the reply of the queued
// command that was refused: EXECABORT alone does not say why (LOADING while
// Redis loads its data after a restart, OOM when it is full).
func execErr(cmds []redis.Cmder, err error) error {
	for _, c := range cmds {
		if cerr := c.Err(); cerr != nil && cerr.Error() != err.Error() {
			return fmt.Errorf("%w (%s: %v)", err, c.Name(), cerr)
		}
	}
	return err
}

// DoneCount returns how many batches of the run are marked done: one
// BITCOUNT, whatever the number of batches.
func (s *Store) DoneCount(ctx context.Context, runID string) (int, error) {
	n, err := s.Client.BitCount(ctx, base.DoneKey(s.Root(), runID), nil).Result()
	return int(n), err
}

// DoneBits returns the run's done bitmap (one GET): bit seq, counting from
// the most significant bit of byte 0, is set once batch seq is done. A
// missing bitmap is empty.
func (s *Store) DoneBits(ctx context.Context, runID string) (base.Bitmap, error) {
	b, err := s.Client.Get(ctx, base.DoneKey(s.Root(), runID)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	return b, err
}

// DoneRange returns the part of the run's done bitmap that holds the bits of
// batches from..to-1 (one GETRANGE), as a Bitmap whose bit 0 is the first
// bit of the byte holding from's: ask it with Done(seq - from&^7).
func (s *Store) DoneRange(ctx context.Context, runID string, from, to uint64) (base.Bitmap, error) {
	if to <= from {
		return nil, nil
	}
	b, err := s.Client.GetRange(ctx, base.DoneKey(s.Root(), runID), int64(from/8), int64((to-1)/8)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	return b, err
}

// Load reads and checks the result of one batch; ErrNotFound when it has none.
func (s *Store) Load(ctx context.Context, runID string, seq uint64) (base.Result, error) {
	key := s.key(runID, seq)
	h, err := s.Client.HGetAll(ctx, key).Result()
	if err != nil {
		return base.Result{}, err
	}
	return parse(key, h)
}

func parse(key string, h map[string]string) (base.Result, error) {
	if len(h) == 0 {
		return base.Result{}, fmt.Errorf("%s: %w", key, ErrNotFound)
	}
	r, err := base.ParseResult(h)
	if err != nil {
		return base.Result{}, fmt.Errorf("%s: %w", key, err)
	}
	return r, nil
}

// LoadMany reads and checks the results of seqs in one pipelined round trip,
// in order. The error of a batch without a result wraps ErrNotFound; every
// error names the batch's task id and key.
func (s *Store) LoadMany(ctx context.Context, runID string, seqs []uint64) ([]base.Result, error) {
	cmds := make([]*redis.MapStringStringCmd, len(seqs))
	_, err := s.Client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, seq := range seqs {
			cmds[i] = p.HGetAll(ctx, s.key(runID, seq))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]base.Result, len(seqs))
	for i, c := range cmds {
		if out[i], err = parse(s.key(runID, seqs[i]), c.Val()); err != nil {
			return nil, fmt.Errorf("batch %s: %w", base.TaskID(runID, seqs[i]), err)
		}
	}
	return out, nil
}

// Exist reports, for each seq, whether its batch has a result (see
// Lifetimes).
func (s *Store) Exist(ctx context.Context, runID string, seqs []uint64) ([]bool, error) {
	left, err := s.Lifetimes(ctx, runID, seqs)
	if err != nil {
		return nil, err
	}
	out := make([]bool, len(left))
	for i, d := range left {
		out[i] = d != Missing
	}
	return out, nil
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
func (s *Store) Lifetimes(ctx context.Context, runID string, seqs []uint64) ([]time.Duration, error) {
	out := make([]time.Duration, 0, len(seqs))
	for start := 0; start < len(seqs); start += 1000 {
		chunk := seqs[start:min(start+1000, len(seqs))]
		cmds := make([]*redis.DurationCmd, len(chunk))
		_, err := s.Client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, seq := range chunk {
				cmds[i] = p.PTTL(ctx, s.key(runID, seq))
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

// DeleteRun deletes the results of batches 0..batches-1 of the run and its
// done bitmap, in pipelined round trips of at most 1000 keys (one DEL per
// key, as the keys may sit on different cluster slots), and returns how many
// keys it deleted.
func (s *Store) DeleteRun(ctx context.Context, runID string, batches int) (int, error) {
	deleted := 0
	for start := 0; start < batches; start += 1000 {
		end := min(start+1000, batches)
		cmds := make([]*redis.IntCmd, 0, end-start)
		_, err := s.Client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for seq := start; seq < end; seq++ {
				cmds = append(cmds, p.Del(ctx, s.key(runID, uint64(seq))))
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
	n, err := s.Client.Del(ctx, base.DoneKey(s.Root(), runID)).Result()
	return deleted + int(n), err
}
