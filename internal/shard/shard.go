// Package shard spreads a run's batches over several queues: it names the
// queues of a sharded queue and places each task on one of them by a stable
// hash of its id.
package shard

import (
	"fmt"
	"hash/fnv"
	"strconv"
)

// MaxShards bounds --shards: every worker polls every shard's queue.
const MaxShards = 256

// Of returns the shard, in [0, n), of the task with the given id: the 64-bit
// FNV-1a hash of the id, modulo n. It is a placement contract: a re-run with
// the same run id and shard count puts every batch on the queue it went to
// before, which is what lets asynq refuse a batch that is still queued. Of
// returns 0 when n < 2.
func Of(id string, n int) int {
	if n < 2 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(id))
	return int(h.Sum64() % uint64(n))
}

// Queues returns the names of the n queues of a queue sharded n ways: base
// itself when n is 1, otherwise base-0 … base-(n-1).
func Queues(base string, n int) []string {
	if n <= 1 {
		return []string{base}
	}
	qs := make([]string, n)
	for i := range qs {
		qs[i] = base + "-" + strconv.Itoa(i)
	}
	return qs
}

// Validate checks a shard count given on the command line as --shards.
func Validate(n int) error {
	if n < 1 || n > MaxShards {
		return fmt.Errorf("--shards %d out of range [1, %d]", n, MaxShards)
	}
	return nil
}

// QueueOf returns the queue, among Queues(base, n), of the task with the
// given id.
func QueueOf(base string, n int, id string) string {
	if n <= 1 {
		return base
	}
	return base + "-" + strconv.Itoa(Of(id, n))
}
