package base

import (
	"strconv"
	"strings"
)

// TypeBits is the asynq task type of a batch conversion. It is a wire
// contract: never rename it once deployed.
const TypeBits = "bits:convert"

// TaskID returns the asynq task id of batch seq of a run: "<run-id>:<seq>".
func TaskID(runID string, seq uint64) string {
	return runID + ":" + strconv.FormatUint(seq, 10)
}

// IsTaskID reports whether id is TaskID(runID, seq), without building it:
// the worker checks it on every batch.
func IsTaskID(id, runID string, seq uint64) bool {
	rest, ok := strings.CutPrefix(id, runID)
	if !ok || rest == "" || rest[0] != ':' {
		return false
	}
	var buf [20]byte
	return rest[1:] == string(strconv.AppendUint(buf[:0], seq, 10))
}

// SeqOf returns the seq of a task id of run runID, and false when id is not
// one of its task ids.
func SeqOf(runID, id string) (uint64, bool) {
	rest, ok := strings.CutPrefix(id, runID+":")
	if !ok {
		return 0, false
	}
	seq, err := strconv.ParseUint(rest, 10, 64)
	return seq, err == nil && strconv.FormatUint(seq, 10) == rest
}
