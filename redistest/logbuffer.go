package redistest

import (
	"bytes"
	"strconv"
	"strings"
	"sync"
)

// LogBuffer is a bytes.Buffer that a process or a logger may write while a
// test reads it: every method is safe for concurrent use. The zero value is
// an empty buffer ready to use.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p; it never fails.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Contains reports whether what was written so far contains sub.
func (l *LogBuffer) Contains(sub string) bool { return strings.Contains(l.String(), sub) }

// Tail returns the last n lines written, preceded by a line counting those
// left out when there are more.
func (l *LogBuffer) Tail(n int) string { return Tail(l.String(), n) }

// Tail returns the last n lines of s, preceded by a line counting those left
// out when there are more.
func Tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{"... (" + strconv.Itoa(len(lines)-n) + " lines before)"}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}
