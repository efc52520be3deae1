package logging_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/logging"
)

func TestDurations(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		format string
		log    func(*slog.Logger)
		want   string // a part of the line
	}{
		{"json seconds", "json", func(l *slog.Logger) { l.Info("m", "took", 43778*time.Microsecond) }, `"took":0.043778`},
		{"json whole seconds", "json", func(l *slog.Logger) { l.Info("m", "wait", 30*time.Second) }, `"wait":30`},
		{"json through slog.Duration", "json", func(l *slog.Logger) { l.Info("m", slog.Duration("took", 1500*time.Millisecond)) }, `"took":1.5`},
		{"json in a group", "json", func(l *slog.Logger) { l.Info("m", slog.Group("cache", "build", 2*time.Second)) }, `"cache":{"build":2}`},
		{"json in With", "json", func(l *slog.Logger) { l.With("ttl", time.Hour).Info("m") }, `"ttl":3600`},
		{"text Go duration", "text", func(l *slog.Logger) { l.Info("m", "took", 43778*time.Microsecond) }, "took=43.778ms"},
		{"text long duration", "text", func(l *slog.Logger) { l.Info("m", "ttl", 90*time.Minute) }, "ttl=1h30m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			l, err := logging.New(&buf, tt.format, "info")
			require.NoError(t, err)
			tt.log(l)
			require.Contains(t, buf.String(), tt.want)
			if tt.format == "json" {
				var v map[string]any
				require.NoError(t, json.Unmarshal(buf.Bytes(), &v))
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ format, level, want string }{
		{"xml", "info", `log format "xml", want text or json`},
		{"json", "loud", `log level "loud", want debug, info, warn or error`},
	}
	for _, tt := range tests {
		t.Run(tt.format+"/"+tt.level, func(t *testing.T) {
			t.Parallel()
			_, err := logging.New(&strings.Builder{}, tt.format, tt.level)
			require.EqualError(t, err, tt.want)
		})
	}
}
