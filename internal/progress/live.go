package progress

import (
	"io"
	"os"
	"sync"
)

// clearLine returns the cursor to the start of the line and clears it
// (carriage return, then ANSI "erase to end of line").
const clearLine = "\r\x1b[K"

// liveLine is a terminal's standard error holding one line of progress
// below everything else written to it: the line is redrawn in place, and a
// log line written meanwhile clears it, takes its place and has it drawn
// again below. Safe for concurrent use.
type liveLine struct {
	mu      sync.Mutex
	w       io.Writer
	line    string // the line shown; "" when none
	midLine bool   // a write left the cursor after text of its own
}

// Stderr returns stderr wrapped in a *liveLine when it is a terminal
// that understands ANSI escapes and logs are text; otherwise stderr itself.
// Give the result to the logger and to NewView, so that log lines
// and the progress line share the terminal.
func Stderr(stderr io.Writer, logFormat string, getenv func(string) string) io.Writer {
	if logFormat != "text" || getenv("TERM") == "dumb" || !isTerminal(stderr) {
		return stderr
	}
	return &liveLine{w: stderr}
}

// isTerminal reports whether w is a character device, such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Write writes p above the live line: the line is cleared, p written, and
// the line drawn again once p ends a line.
func (l *liveLine) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.line != "" && !l.midLine {
		io.WriteString(l.w, clearLine)
	}
	n, err := l.w.Write(p)
	l.midLine = len(p) > 0 && p[len(p)-1] != '\n'
	if l.line != "" && !l.midLine && err == nil {
		io.WriteString(l.w, l.line)
	}
	return n, err
}

// set shows s as the live line, in place of the one shown.
func (l *liveLine) set(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.line = s
	if !l.midLine {
		io.WriteString(l.w, clearLine+s)
	}
}

// finish replaces the live line with s, for good: s ends its line, and no
// line is live any more.
func (l *liveLine) finish(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.midLine:
		io.WriteString(l.w, "\n")
	case l.line != "":
		io.WriteString(l.w, clearLine)
	}
	io.WriteString(l.w, s+"\n")
	l.line, l.midLine = "", false
}

// end leaves the live line shown as it is, ending its line, so that what is
// written next starts on a line of its own.
func (l *liveLine) end() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.line != "" && !l.midLine {
		io.WriteString(l.w, "\n")
	}
	l.line = ""
}
