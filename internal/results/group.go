package results

import (
	"bitqueue/internal/base"
	"context"
	"slices"
	"sync"
)

// Group commit bounds: a group holds at most groupMax batches and, beyond
// its first batch, at most groupBytes bytes of packed bits.
const (
	groupMax   = 64
	groupBytes = 1 << 20
)

// Group saves the results of concurrent callers together. A Save that finds
// no group being written goes out at once; one that arrives while a group is
// being written waits for it, and then goes out with every Save that arrived
// in the meantime, in one transaction and one round trip (Store.SaveAll). So
// a busy worker pays one round trip for several batches, and an idle one
// waits for nobody. A failed group fails each of its Saves with the same
// error, for its caller to retry as it would a failed Store.Save. A Save
// whose context has ended writes nothing; once it has joined a group, it
// returns when the group is written or has failed, whatever its context
// says, since the group holds the caller's bits until then.
//
// On a Redis Cluster, whose batches may sit on different slots, Save is
// Store.Save.
type Group struct {
	Store *Store
	// Wrote, when set, is called after each write, successful or not,
	// with the number of batches it carried (1 on a Redis Cluster).
	Wrote func(batches int)

	mu      sync.Mutex
	writing bool // a group is being written; when false, nobody waits
	waiting []*pendingSave
}

type pendingSave struct {
	batch Batch
	reply chan groupReply
}

// groupReply ends a wait: the outcome of the caller's group, or lead: the
// caller is first in line and writes the next group.
type groupReply struct {
	err  error
	lead bool
}

// Save saves r as batch seq of runID, with the Saves of other callers that
// wait at the same time.
func (g *Group) Save(ctx context.Context, runID string, seq uint64, r base.Result) error {
	if g.Store.onCluster() {
		err := g.Store.Save(ctx, runID, seq, r)
		g.wrote(1)
		return err
	}
	if err := ctx.Err(); err != nil {
		return err // a batch handed back writes nothing
	}
	me := &pendingSave{batch: Batch{RunID: runID, Seq: seq, Result: r}, reply: make(chan groupReply, 1)}
	g.mu.Lock()
	g.waiting = append(g.waiting, me)
	if g.writing {
		g.mu.Unlock()
		if rep := <-me.reply; !rep.lead {
			return rep.err
		}
		g.mu.Lock()
	}
	// The caller is first in line (waiting[0]): it writes the next group.
	g.writing = true
	group := g.take()
	g.mu.Unlock()

	batches := make([]Batch, len(group))
	for i, p := range group {
		batches[i] = p.batch
	}
	err := g.Store.SaveAll(context.WithoutCancel(ctx), batches)
	g.wrote(len(batches))
	for _, p := range group[1:] {
		p.reply <- groupReply{err: err}
	}

	g.mu.Lock()
	if len(g.waiting) > 0 {
		g.waiting[0].reply <- groupReply{lead: true}
	} else {
		g.writing = false
	}
	g.mu.Unlock()
	return err
}

func (g *Group) wrote(batches int) {
	if g.Wrote != nil {
		g.Wrote(batches)
	}
}

// take removes the next group from the head of the line. g.mu is held.
func (g *Group) take() []*pendingSave {
	n, bytes := 1, len(g.waiting[0].batch.Result.Bits)
	for n < len(g.waiting) && n < groupMax {
		bytes += len(g.waiting[n].batch.Result.Bits)
		if bytes > groupBytes {
			break
		}
		n++
	}
	group := slices.Clone(g.waiting[:n])
	g.waiting = slices.Delete(g.waiting, 0, n) // and lets go of the taken
	return group
}
