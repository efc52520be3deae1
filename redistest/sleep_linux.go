package redistest

import (
	"syscall"
	"time"
)

// preciseSleep sleeps for d with nanosleep(2), which keeps the calling
// thread (not the process) waiting and wakes within the timer slack.
func preciseSleep(d time.Duration) {
	ts := syscall.NsecToTimespec(int64(d))
	for {
		var left syscall.Timespec
		if err := syscall.Nanosleep(&ts, &left); err != syscall.EINTR {
			return
		}
		ts = left
	}
}
