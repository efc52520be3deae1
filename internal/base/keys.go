// Package layout owns the Redis layout of bitqueue: every key it writes
// outside asynq's own, under one configurable prefix, and the defaults of
// that prefix and of the keys' lifetimes. No other package formats a key.
//
// Keys (run ids match [A-Za-z0-9._-]{1,128}, so they never hold a colon):
//
//	<prefix>:result:<run-id>:<seq>  hash   one batch's packed result
//	<prefix>:run:<run-id>           hash   the run's record: what the run id binds
//	<prefix>:done:<run-id>          string bitmap, bit seq set once batch seq has its result
//	<prefix>:runs                   zset   run ids by creation time, for listing
//	<prefix>:tick:<run-id>          string set once every batch of a scheduled tick is enqueued
//
// A run's record, done bitmap and tick marker may sit on different Redis
// Cluster slots from each other and from its results: nothing writes two of
// them in one transaction.
package base

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DefaultPrefix is the root of every key bitqueue writes.
const DefaultPrefix = "bitqueue"

// DefaultQueue is the queue of batches unless told otherwise, the
// producer's and the workers' alike.
const DefaultQueue = "bits"

// DefaultTTL is how long a result, a done bitmap and a run record are kept
// unless configured otherwise.
const DefaultTTL = 24 * time.Hour

// ResultKey returns the key of batch seq's result.
func ResultKey(prefix, runID string, seq uint64) string {
	return prefix + ":result:" + runID + ":" + strconv.FormatUint(seq, 10)
}

// RecordKey returns the key of a run's record.
func RecordKey(prefix, runID string) string { return prefix + ":run:" + runID }

// DoneKey returns the key of a run's done bitmap.
func DoneKey(prefix, runID string) string { return prefix + ":done:" + runID }

// RunsKey returns the key of the index of runs.
func RunsKey(prefix string) string { return prefix + ":runs" }

// TickKey returns the key that marks a scheduled tick, named by its run id,
// as produced.
func TickKey(prefix, runID string) string { return prefix + ":tick:" + runID }

// CheckPrefix reports whether prefix can root bitqueue's keys: non-empty,
// without white space.
func CheckPrefix(prefix string) error {
	if prefix == "" || strings.ContainsAny(prefix, " \t\r\n") {
		return fmt.Errorf("prefix %q must be non-empty without spaces", prefix)
	}
	return nil
}

// ErrNotResultKey is returned by ParseResultKey for a key of another family.
var ErrNotResultKey = errors.New("not a result key")

// ParseResultKey returns the run id and seq of a key made by ResultKey with
// prefix: the benchmark follows results by the keys Redis reports written.
func ParseResultKey(prefix, key string) (runID string, seq uint64, err error) {
	rest, ok := strings.CutPrefix(key, prefix+":result:")
	if !ok {
		return "", 0, fmt.Errorf("%q: %w under prefix %q", key, ErrNotResultKey, prefix)
	}
	i := strings.LastIndexByte(rest, ':')
	if i <= 0 {
		return "", 0, fmt.Errorf("%q: %w: no seq", key, ErrNotResultKey)
	}
	seq, err = strconv.ParseUint(rest[i+1:], 10, 64)
	if err != nil || strconv.FormatUint(seq, 10) != rest[i+1:] {
		return "", 0, fmt.Errorf("%q: %w: seq %q", key, ErrNotResultKey, rest[i+1:])
	}
	return rest[:i], seq, nil
}

// AsynqQueueKey returns the key asynq v0.26 keeps a queue's part of the given
// kind under ("pending", "active", "paused", "lease", …): asynq:{<queue>}:<kind>.
// The braces make every key of a queue share a Redis Cluster slot. They are
// asynq's, not a contract of bitqueue: they are named here only for what
// recognises asynq's commands (the worker's pacing of its polls) and for
// finding a queue's cluster master.
func AsynqQueueKey(queue, kind string) string { return "asynq:{" + queue + "}:" + kind }

// AsynqQueueOf returns the queue whose key of the given kind is key
// (AsynqQueueKey), and false for any other key.
func AsynqQueueOf(key, kind string) (string, bool) {
	q, ok := strings.CutPrefix(key, "asynq:{")
	if !ok {
		return "", false
	}
	return strings.CutSuffix(q, "}:"+kind)
}
