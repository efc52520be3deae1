package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"sync"
)

// progressTo returns where --wait writes its progress lines: stderr as they
// are with --log-format text, and as info log lines (the progress line as
// the message) with --log-format json, so that every line on stderr is then
// one JSON object.
func progressTo(stderr io.Writer, log *slog.Logger, format string) io.Writer {
	if format != "json" {
		return stderr
	}
	return &lineLogger{log: log}
}

// lineLogger logs each complete line written to it.
type lineLogger struct {
	log *slog.Logger
	mu  sync.Mutex
	buf []byte
}

func (l *lineLogger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		if line := bytes.TrimSpace(l.buf[:i]); len(line) > 0 {
			l.log.Log(context.Background(), slog.LevelInfo, string(line))
		}
		l.buf = l.buf[i+1:]
	}
}
