package base

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"time"
)

// MaxRunID is the longest run id.
const MaxRunID = 128

// ValidateRunID reports whether id can name a run: 1 to MaxRunID characters
// from [A-Za-z0-9._-], so that task ids and keys stay unambiguous.
func ValidateRunID(id string) error {
	if id == "" || len(id) > MaxRunID {
		return fmt.Errorf("run id %q must be 1 to %d characters long", id, MaxRunID)
	}
	for i := range len(id) {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("run id %q: character %q at %d is not one of [A-Za-z0-9._-]", id, c, i)
		}
	}
	return nil
}

// NewRunID returns a fresh run id: the UTC time and 8 random hex digits,
// such as "20261129T120000Z-1a2b3c4d".
func NewRunID(now time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// SeedFor returns the default random seed of a run, derived from its id
// (64-bit FNV-1a), so that running a run again draws the same integers. It
// is a contract: a later producer or requeue of the run relies on it.
func SeedFor(runID string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(runID))
	return h.Sum64()
}

// Batches returns the number of batches of size b that total integers make.
func Batches(total uint64, b int) int { return int((total + uint64(b) - 1) / uint64(b)) }
