// Package runs turns a source of integers into a run: its batches enqueued
// once each, its results awaited and written out in input order.
//
// A run is a record created once and read by everything else. The first
// producer of a run id creates its Record, holding the run's Fingerprint
// (CreateRecord); a later producer of the id must give the same fingerprint,
// or it enqueues nothing (*MismatchError). Workers mark each batch whose
// result they saved in the run's done bitmap (results.Store.Save), so that
// Wait, GetStatus and List count completion with one command. A batch is,
// from its enqueue:
//
//	queued   its task is pending, active, scheduled, retrying or aggregating
//	done     its done bit is set (or its result exists: the bit is repaired)
//	failed   its task is archived (Requeue sends it back)
//	lost     none of these: no result, no bit, no task that can run (Wait
//	         returns a *LostError; LostBatches selects it, and EnqueueLost
//	         or a producer re-run enqueues it again from the run's input)
//
// Delete turns the record into a tombstone (State StateDeleted) that keeps
// the id bound, then removes the run's tasks, results and bitmap. The keys
// are named by internal/layout; docs/runs.md describes the model.
package runs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"hash/fnv"
	"io"
	"time"

	"bitqueue/internal/input"
	"bitqueue/internal/results"
	"bitqueue/internal/wake"
)

// NewID returns a fresh run id: the UTC time and 8 random hex digits, such as
// "20261129T120000Z-1a2b3c4d".
func NewID(now time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// SeedFor returns the default random seed of a run, derived from its id so
// that re-running a run regenerates the same integers.
func SeedFor(runID string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(runID))
	return h.Sum64()
}

// Batches returns the number of batches of size b that total integers make.
func Batches(total uint64, b int) int { return int((total + uint64(b) - 1) / uint64(b)) }

// readBatch fills nums with up to len(nums) integers from s and returns how
// many it read; 0 means the stream is done.
func readBatch(s input.Stream, nums []uint64) (int, error) {
	for i := range nums {
		n, err := s.Next()
		if errors.Is(err, io.EOF) {
			return i, nil
		}
		if err != nil {
			return i, err
		}
		nums[i] = n
	}
	return len(nums), nil
}

// wakeFor wakes idle workers of store's fleet once n batches were sent to
// their queues: the whole fleet for several, the listeners of one shard
// channel for one, nobody for none. A lost wake-up only costs latency.
func wakeFor(ctx context.Context, store *results.Store, n int) {
	switch {
	case n > 1:
		_ = wake.Fleet(ctx, store.Client, store.Root())
	case n == 1:
		_, _ = wake.Publish(ctx, store.Client, store.Root())
	}
}
