// Package results saves a worker's batch results. Its Saver is the whole
// save path of the handler, in one place: the saves of concurrent batches go
// out together, in one write, one round trip; a write rides out a short
// Redis outage; and every save is reported to one observer (the worker's
// metrics).
package results

import (
	"context"
	"slices"
	"sync"
	"time"

	"bitqueue/internal/base"
	"bitqueue/internal/outage"
	"bitqueue/internal/rdb"
)

// Group commit bounds: a write holds at most groupMax batches and, beyond
// its first batch, at most groupBytes bytes of packed bits.
const (
	groupMax   = 64
	groupBytes = 1 << 20
)

// Saver saves results as tasks.ResultStore. A Save that finds no write in
// flight goes out at once; one that arrives while a write is in flight waits
// for it, and then goes out with every Save that arrived in the meantime, in
// one transaction and one round trip (rdb.SaveResults). So a busy worker
// pays one round trip for several batches, and an idle one waits for nobody.
// A write failing with a transient error is tried again by Rider until Redis
// answers, the Rider's bound passes or the context of the Save that leads
// the write (its task's) ends: a worker rides out a short outage instead of
// failing its batches while Redis is away, when asynq could not record the
// failure either. A failed write fails each of its Saves with the same
// error, for asynq to retry. A Save whose context has ended writes nothing;
// once it has joined a write, it returns when the write is done or has
// failed, whatever its context says, since the write holds the caller's
// bits until then.
//
// On a Redis Cluster, whose batches may sit on different slots, each Save
// is a write of its own.
type Saver struct {
	RDB *rdb.RDB
	// TTL is how long results, and the done marks counting them, are kept
	// (base.DefaultTTL when not positive).
	TTL   time.Duration
	Rider *outage.Rider
	// Observe, when set, is told of every Save once it returns.
	Observe func(Saved)

	write func(ctx context.Context, bs []rdb.Batch) error // RDB.SaveResults; tests replace it

	mu      sync.Mutex
	writing bool // a write is in flight; when false, nobody waits
	waiting []*pendingSave
}

// Saved is what Observe is told of a Save.
type Saved struct {
	Took time.Duration // from the call to the return, waiting included
	// Batches is the number of batches the Save's write carried; Lead is
	// set for one Save of each write, the one that sent it, so that each
	// write is counted once.
	Batches int
	Lead    bool
	Err     error
}

type pendingSave struct {
	batch rdb.Batch
	reply chan groupReply
}

// groupReply ends a wait: the outcome of the caller's write, or lead: the
// caller is first in line and sends the next write.
type groupReply struct {
	err     error
	batches int
	lead    bool
}

// Save saves r as batch seq of runID, with the Saves of other callers that
// wait at the same time.
func (s *Saver) Save(ctx context.Context, runID string, seq uint64, r base.Result) error {
	start := time.Now()
	batches, lead, err := s.save(ctx, rdb.Batch{RunID: runID, Seq: seq, Result: r})
	if s.Observe != nil {
		s.Observe(Saved{Took: time.Since(start), Batches: batches, Lead: lead, Err: err})
	}
	return err
}

func (s *Saver) save(ctx context.Context, b rdb.Batch) (batches int, lead bool, err error) {
	if err := ctx.Err(); err != nil {
		return 0, false, err // a batch handed back writes nothing
	}
	if s.RDB.OnCluster() {
		return 1, true, s.send(ctx, []rdb.Batch{b})
	}
	me := &pendingSave{batch: b, reply: make(chan groupReply, 1)}
	s.mu.Lock()
	s.waiting = append(s.waiting, me)
	if s.writing {
		s.mu.Unlock()
		if rep := <-me.reply; !rep.lead {
			return rep.batches, false, rep.err
		}
		s.mu.Lock()
	}
	// The caller is first in line (waiting[0]): it sends the next write.
	s.writing = true
	group := s.take()
	s.mu.Unlock()

	bs := make([]rdb.Batch, len(group))
	for i, p := range group {
		bs[i] = p.batch
	}
	err = s.send(ctx, bs)
	for _, p := range group[1:] {
		p.reply <- groupReply{err: err, batches: len(bs)}
	}

	s.mu.Lock()
	if len(s.waiting) > 0 {
		s.waiting[0].reply <- groupReply{lead: true}
	} else {
		s.writing = false
	}
	s.mu.Unlock()
	return len(bs), true, err
}

// send writes bs, riding out an outage for as long as ctx lives; the write
// itself is not cut short by ctx, since it carries other callers' batches.
func (s *Saver) send(ctx context.Context, bs []rdb.Batch) error {
	write := s.write
	if write == nil {
		write = func(ctx context.Context, bs []rdb.Batch) error { return s.RDB.SaveResults(ctx, s.ttl(), bs) }
	}
	rider := s.Rider
	if rider == nil {
		rider = outage.New(0, nil)
	}
	return rider.Do(ctx, "save results", func() error { return write(context.WithoutCancel(ctx), bs) })
}

func (s *Saver) ttl() time.Duration {
	if s.TTL <= 0 {
		return base.DefaultTTL
	}
	return s.TTL
}

// take removes the next write's batches from the head of the line. s.mu is
// held.
func (s *Saver) take() []*pendingSave {
	n, bytes := 1, len(s.waiting[0].batch.Result.Bits)
	for n < len(s.waiting) && n < groupMax {
		bytes += len(s.waiting[n].batch.Result.Bits)
		if bytes > groupBytes {
			break
		}
		n++
	}
	group := slices.Clone(s.waiting[:n])
	s.waiting = slices.Delete(s.waiting, 0, n) // and lets go of the taken
	return group
}
