package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/logging"
)

func TestProgressTo(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		format string
		writes []string
		want   []string // messages logged (json), or the bytes passed through (text)
	}{
		{"text passes through", "text", []string{"run r: 1/2 batches done\n", "run r: 2/2"}, []string{"run r: 1/2 batches done\nrun r: 2/2"}},
		{"json, one line per write", "json", []string{"run r: 1/2 batches done\n", "run r: 2/2 batches done in 1s\n"}, []string{"run r: 1/2 batches done", "run r: 2/2 batches done in 1s"}},
		{"json, lines split across writes", "json", []string{"run r: 1/", "2 batches done\nrun r", ": 2/2\n", "partial"}, []string{"run r: 1/2 batches done", "run r: 2/2"}},
		{"json, blank lines dropped", "json", []string{"\n  \nrun r\n"}, []string{"run r"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stderr bytes.Buffer
			log, err := logging.New(&stderr, tt.format, "info")
			require.NoError(t, err)
			w := progressTo(&stderr, log, tt.format)
			for _, s := range tt.writes {
				n, err := w.Write([]byte(s))
				require.NoError(t, err)
				require.Equal(t, len(s), n)
			}
			if tt.format == "text" {
				require.Equal(t, strings.Join(tt.want, ""), stderr.String())
				return
			}
			var got []string
			for line := range strings.SplitSeq(strings.TrimSpace(stderr.String()), "\n") {
				var m map[string]any
				require.NoError(t, json.Unmarshal([]byte(line), &m), line)
				require.Equal(t, "INFO", m["level"])
				got = append(got, m["msg"].(string))
			}
			require.Equal(t, tt.want, got)
		})
	}
}
