package base

import (
	"math/rand/v2"
	"strconv"
)

// WakeChannel returns the Redis pub/sub channel on which the workers of a
// fleet rooted at prefix wake each other: "<prefix>:wake". Channels are not
// keys: nothing is stored under them.
func WakeChannel(prefix string) string { return prefix + ":wake" }

// WakeShardChannel returns shard i of the channels on which producers wake
// a few idle workers of the fleet rooted at prefix: "<prefix>:wake:<i>".
func WakeShardChannel(prefix string, i int) string {
	return prefix + ":wake:" + strconv.Itoa(i)
}

// WakeShards is the number of shard channels of a fleet.
const WakeShards = 16

// WakeMessage is what a wake-up carries; listeners ignore it.
const WakeMessage = "work"

// WakeChannels returns the channels a worker of the fleet rooted at prefix
// listens on: the fleet's channel and a shard channel picked at random.
func WakeChannels(prefix string) []string {
	return []string{WakeChannel(prefix), WakeShardChannel(prefix, rand.N(WakeShards))}
}
