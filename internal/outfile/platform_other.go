//go:build !unix

package outfile

import (
	"errors"
	"os"
)

// inPlaceFlags are added to the flags of an output opened in place.
const inPlaceFlags = 0

// errNoReader is never returned where there are no FIFOs.
var errNoReader = errors.New("no reader")

// openFIFO opens path for writing.
func openFIFO(path string) (*os.File, error) { return os.OpenFile(path, os.O_WRONLY, 0) }

// lockOwn keeps tmp unlocked: without flock, the clean-up removes nothing.
func lockOwn(*os.File) bool { return true }

// lockStale never finds a file stale without flock.
func lockStale(string) *os.File { return nil }
