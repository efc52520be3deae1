// Package logging builds the slog loggers of bitqueue's commands.
package logging

import (
	"fmt"
	"io"
	"log/slog"
)

// New returns a logger writing to w in format "text" or "json" at level
// "debug", "info", "warn" or "error". Durations are written as Go durations
// in text ("took=43.778ms") and as seconds in JSON ("took":0.043778), never
// as the bare nanoseconds slog's JSON handler writes by default.
func New(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q, want debug, info, warn or error", level)
	}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: lv})), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lv, ReplaceAttr: durationSeconds})), nil
	default:
		return nil, fmt.Errorf("log format %q, want text or json", format)
	}
}

// durationSeconds writes a duration as a number of seconds, the unit
// Prometheus and most log pipelines expect.
func durationSeconds(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		return slog.Float64(a.Key, a.Value.Duration().Seconds())
	}
	return a
}
