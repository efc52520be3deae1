package cli

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// CheckQueue reports whether a worker can serve the queue name, so that no
// command enqueues where no worker will look; its error, which follows the
// name of the setting in a message, says why not. A servable name is valid
// UTF-8, non-empty, and holds
//
//   - no whitespace: a worker's --queue trims it from each name, and a name
//     with a space inside reads as two words;
//   - no comma: a worker's --queue reads "a,b" as two queues, a and b;
//   - no control or other non-printing character;
//   - no brace: asynq keys a queue's data as asynq:{NAME}:…, and Redis
//     Cluster hashes a key by what lies between its first { and the next },
//     so that "a}-0" and "a}-1" would share a master whatever --shards says.
//
// A name may end in "-<i>" like the queues of a sharded queue (NAME-0 …
// NAME-(N-1)): a worker given that name serves it as any other.
func CheckQueue(name string) error {
	if !utf8.ValidString(name) {
		return errors.New("must be valid UTF-8")
	}
	if name == "" || strings.IndexFunc(name, unicode.IsSpace) >= 0 {
		return errors.New("must be non-empty without spaces")
	}
	for _, r := range name {
		switch {
		case r == ',':
			return errors.New(`must not hold a comma: a worker's --queue reads "a,b" as two queues, a and b`)
		case !unicode.IsPrint(r):
			return fmt.Errorf("must not hold the non-printing character %U", r)
		case r == '{' || r == '}':
			return errors.New("must not hold { or }: asynq keys a queue as asynq:{queue}:…, which Redis Cluster places by what lies between the braces")
		}
	}
	return nil
}

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
		if err := CheckQueue(q); err != nil {
			return nil, Usagef("%s: queue %q %v", from, q, err)
		}
		queues = append(queues, q)
	}
	if len(queues) == 0 {
		return nil, Usagef("%s names no queue", from)
	}
	return queues, nil
}
