package redistest

import (
	"fmt"
	"time"
)

// PollInterval is how often Await checks its condition.
const PollInterval = 20 * time.Millisecond

// Await checks cond every PollInterval until it holds, and returns an error
// naming what when timeout passes first. cond runs at least once.
func Await(timeout time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(PollInterval)
	}
	return nil
}
