package cli

import (
	"bitqueue/internal/base"
	"strings"
)

// QueueList reads a list of queues such as a worker's --queue, given by the
// user as from (see Source): names separated by commas, each trimmed of
// surrounding whitespace, empty ones skipped. Each name must be servable
// (CheckQueue), and the list must name at least one.
func QueueList(list, from string) ([]string, error) {
	var queues []string
	for q := range strings.SplitSeq(list, ",") {
		q = strings.TrimSpace(q)
		if q == "" {
			continue
		}
		if err := base.CheckQueue(q); err != nil {
			return nil, Usagef("%s: queue %q %v", from, q, err)
		}
		queues = append(queues, q)
	}
	if len(queues) == 0 {
		return nil, Usagef("%s names no queue", from)
	}
	return queues, nil
}

// ShardedQueues returns the queues a process serves for the list given as
// from (QueueList), each spread over shards queues (base.Queues).
func ShardedQueues(list, from string, shards int) ([]string, error) {
	names, err := QueueList(list, from)
	if err != nil {
		return nil, err
	}
	var queues []string
	for _, q := range names {
		queues = append(queues, base.Queues(q, shards)...)
	}
	return queues, nil
}
