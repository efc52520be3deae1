//go:build !linux

package redistest

import "time"

// preciseSleep sleeps for d; outside Linux with Go's timer.
func preciseSleep(d time.Duration) { time.Sleep(d) }
