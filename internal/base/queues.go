package base

import (
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxShards bounds --shards: every worker polls every shard's queue.
const MaxShards = 256

// ShardOf returns the shard, in [0, n), of the task with the given id: the 64-bit
// FNV-1a hash of the id, modulo n. It is a placement contract: a re-run with
// the same run id and shard count puts every batch on the queue it went to
// before, which is what lets asynq refuse a batch that is still queued. Of
// returns 0 when n < 2.
func ShardOf(id string, n int) int {
	if n < 2 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(id))
	return int(h.Sum64() % uint64(n))
}

// Queues returns the names of the n queues of a queue sharded n ways: the
// queue itself when n is 1, otherwise queue-0 … queue-(n-1).
func Queues(queue string, n int) []string {
	if n <= 1 {
		return []string{queue}
	}
	qs := make([]string, n)
	for i := range qs {
		qs[i] = queue + "-" + strconv.Itoa(i)
	}
	return qs
}

// QueueOf returns the queue, among Queues(queue, n), of the task with the
// given id.
func QueueOf(queue string, n int, id string) string {
	if n <= 1 {
		return queue
	}
	return queue + "-" + strconv.Itoa(ShardOf(id, n))
}

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
