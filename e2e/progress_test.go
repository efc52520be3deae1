package e2e

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/redistest"
)

// TestWaitProgressInAPipe runs `producer --wait` with standard error a pipe
// and no worker: it prints plain progress lines (no carriage return, no
// escape sequence), warns that no worker serves its queue, naming the
// command to start, and once a worker comes, ends with the run's last line.
// With --log-format json, every line is JSON and the progress lines carry
// numbers.
func TestWaitProgressInAPipe(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			runID := "progress-" + format
			cmd := exec.Command(filepath.Join(bin, "producer"), "-redis", e.URL, "-queue", e.queue, "-prefix", e.prefix,
				"-count", "5000", "-batch-size", "1000", "-run-id", runID, "-wait", "-log-format", format)
			p := startBackground(t, cmd)

			// Said once some 10 s (more on a loaded machine) without a worker.
			warning := regexp.MustCompile(fmt.Sprintf(`no worker serves queue\(s\) %s for [0-9]+s: start bin/worker --queue %s --prefix %s`, regexp.QuoteMeta(e.queue), regexp.QuoteMeta(e.queue), regexp.QuoteMeta(e.prefix)))
			progress := fmt.Sprintf("run %s: 0/5 batches done, 0 ints/s, ETA unknown", runID)
			if format == "json" {
				progress = `"msg":"progress"`
			}
			redistest.WaitFor(t, time.Minute, "a progress line and the no-worker warning", func() bool {
				s := p.stderr.String()
				return warning.MatchString(s) && strings.Contains(s, progress) || p.exited()
			})
			require.False(t, p.exited(), "the producer waits for its run; stderr:\n%s", p.stderr.String())

			startWorker(t, e)
			r := p.wait(t, 2*time.Minute)
			require.Equal(t, 0, r.code, r.stderr)
			require.NotContains(t, r.stderr, "\r", "no line redrawn in a pipe")
			require.NotContains(t, r.stderr, "\x1b[", "no escape sequence in a pipe")
			last := fmt.Sprintf("run %s: 5/5 batches done in ", runID)
			require.Contains(t, r.stderr, last)
			require.Len(t, warning.FindAllString(r.stderr, -1), 1, "warned once:\n%s", r.stderr)

			lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
			if format == "text" {
				for _, line := range lines {
					require.True(t, strings.HasPrefix(line, "time=") || strings.HasPrefix(line, "run "+runID+": "), "a log line or a progress line: %q", line)
				}
				return
			}
			progressLines := 0
			for _, line := range lines {
				var m map[string]any
				require.NoError(t, json.Unmarshal([]byte(line), &m), "every line is JSON: %q", line)
				if m["msg"] != "progress" {
					continue
				}
				progressLines++
				for _, k := range []string{"done", "total", "ints_per_sec"} {
					require.IsType(t, float64(0), m[k], "%s is a number: %s", k, line)
				}
				require.Equal(t, float64(5), m["total"])
			}
			require.Positive(t, progressLines)
		})
	}
}
