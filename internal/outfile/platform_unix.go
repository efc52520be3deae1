//go:build unix

package outfile

import (
	"errors"
	"os"
	"syscall"
)

// inPlaceFlags are added to the flags of an output opened in place: a
// terminal written to does not become the producer's controlling terminal.
const inPlaceFlags = syscall.O_NOCTTY

// errNoReader is openFIFO's error while no process has the FIFO open for
// reading.
var errNoReader = errors.New("no reader")

// openFIFO opens the FIFO at path for writing without waiting for a reader:
// errNoReader when there is none yet (open(2) would block). The file stays
// non-blocking, served by Go's poller: a write waits for the reader to
// drain the FIFO without holding a thread.
func openFIFO(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if errors.Is(err, syscall.ENXIO) {
		return nil, errNoReader
	}
	return f, err
}

// lockOwn takes the lock that marks tmp, a temporary file just created, as
// written by a running process, and reports whether tmp is still the file
// at its name: a clean-up that found it before the lock may have removed
// it. Where the file system has no locks, tmp is kept unlocked (and the
// clean-up, which needs the lock too, removes nothing there).
func lockOwn(tmp *os.File) bool {
	err := syscall.Flock(int(tmp.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return false
	}
	st, err1 := tmp.Stat()
	now, err2 := os.Lstat(tmp.Name())
	return err1 == nil && err2 == nil && os.SameFile(st, now)
}

// lockStale opens the file at path and takes its lock without waiting: it
// returns the open file when no process holds the lock (the process that
// wrote it is gone), nil otherwise or when path is not a regular file. The
// caller closes it.
func lockStale(path string) *os.File {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil
	}
	f := os.NewFile(uintptr(fd), path)
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() || syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		f.Close()
		return nil
	}
	return f
}
