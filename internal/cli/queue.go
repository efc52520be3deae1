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
