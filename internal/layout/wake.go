package layout

import "strconv"

// WakeChannel returns the Redis pub/sub channel on which the workers of a
// fleet rooted at prefix wake each other: "<prefix>:wake". Channels are not
// keys: nothing is stored under them.
func WakeChannel(prefix string) string { return prefix + ":wake" }

// WakeShardChannel returns shard i of the channels on which producers wake
// a few idle workers of the fleet rooted at prefix: "<prefix>:wake:<i>".
func WakeShardChannel(prefix string, i int) string {
	return prefix + ":wake:" + strconv.Itoa(i)
}
