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

// pausedLine is what status and --wait say of a paused queue.
func pausedLine(queue string) string {
	return fmt.Sprintf("queue %s is paused: `asynq queue unpause %s`; no worker takes its batches until then", queue, queue)
}

// statusPaused returns the paused queues `producer status --json` lists for
// runID, and its exit code.
func statusPaused(t *testing.T, e env, runID string) ([]string, int) {
	t.Helper()
	r := inspectRun(t, e, "status", "-run-id", runID, "-json")
	var s struct {
		Totals struct {
			Paused []string `json:"paused"`
		} `json:"queue_totals"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &s), "status --json: %s\nstderr: %s", r.stdout, r.stderr)
	require.NotNil(t, s.Totals.Paused, "queue_totals.paused is a list, empty when no queue is paused: %s", r.stdout)
	return s.Totals.Paused, r.code
}

// TestPausedQueueNamed pauses the queue of a run, or one of its shards, as
// `asynq queue pause` does: `producer status` names it, in text and JSON,
// and how to resume it; `producer --wait`, with a worker serving every
// queue, warns within 10 s that it is paused, once, and finishes once the
// queue is resumed.
func TestPausedQueueNamed(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name   string
		shards int
		format string
	}{
		{"one queue", 1, "text"},
		{"one shard of three", 3, "json"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			runID := "paused-" + c.format
			run := []string{"-count", "300", "-batch-size", "10", "-run-id", runID, "-shards", fmt.Sprint(c.shards)}
			paused := e.queue
			if c.shards > 1 {
				paused = fmt.Sprintf("%s-%d", e.queue, 1)
				for i := range c.shards {
					q := fmt.Sprintf("%s-%d", e.queue, i)
					t.Cleanup(func() { _ = e.inspector(t).DeleteQueue(q, true) })
				}
			}
			produceOK(t, e, run...)
			insp := e.inspector(t)
			require.NoError(t, insp.PauseQueue(paused))
			t.Cleanup(func() { _ = insp.UnpauseQueue(paused) })

			st := inspectRun(t, e, "status", "-run-id", runID)
			require.Equal(t, 0, st.code, "a paused run is pending, not failed: %s", st.stderr)
			require.Contains(t, st.stdout, pausedLine(paused)+"\n")
			names, code := statusPaused(t, e, runID)
			require.Equal(t, 0, code)
			require.Equal(t, []string{paused}, names)

			startWorker(t, e, "-shards", fmt.Sprint(c.shards))
			bg := startProducer(t, e, append(run, "-wait", "-timeout", "2m", "-log-format", c.format)...)
			warning := regexp.QuoteMeta(pausedLine(paused))
			if c.format == "json" {
				warning = regexp.QuoteMeta(`"msg":"`+pausedLine(paused)) + `".*"run_id":"` + runID + `"`
			}
			warned := regexp.MustCompile(warning)
			redistest.WaitFor(t, time.Minute, "the run enqueued again (nothing new) and waited for", func() bool {
				return strings.Contains(bg.stderr.String(), "enqueued") || bg.exited()
			})
			redistest.WaitFor(t, 10*time.Second, "the paused queue warning", func() bool {
				return warned.MatchString(bg.stderr.String()) || bg.exited()
			})
			require.False(t, bg.exited(), "the producer waits for its run; stderr:\n%s", bg.stderr.String())
			require.NotContains(t, bg.stderr.String(), "no worker serves", "a worker serves every queue: the pause is the cause")

			require.NoError(t, insp.UnpauseQueue(paused))
			res := bg.wait(t, 2*time.Minute)
			require.Equal(t, 0, res.code, res.stderr)
			require.Len(t, warned.FindAllString(res.stderr, -1), 1, "warned once:\n%s", res.stderr)
			names, code = statusPaused(t, e, runID)
			require.Equal(t, 0, code)
			require.Empty(t, names)
		})
	}
}

// TestLostToQueueRemoved removes, with its tasks, the paused queue of a run
// `producer --wait` waits for, before any worker took a batch (`asynq queue
// remove --force`: tasks deleted by hand): --wait, having warned of the
// pause, and `producer status` call the batches lost and name the command
// that enqueues them again; the queue stays paused after its removal, and
// status says to resume it too. Following both, the run completes.
func TestLostToQueueRemoved(t *testing.T) {
	t.Parallel()
	e := setup(t)
	const runID = "removed"
	run := []string{"-count", "100", "-batch-size", "10", "-run-id", runID}
	insp := e.inspector(t)
	require.NoError(t, insp.PauseQueue(e.queue))
	t.Cleanup(func() { _ = insp.UnpauseQueue(e.queue) })
	bg := startProducer(t, e, append(run, "-wait", "-timeout", "1m", "-lost-after", "1s")...)
	redistest.WaitFor(t, time.Minute, "the batches enqueued and the pause warned of", func() bool {
		return strings.Contains(bg.stderr.String(), pausedLine(e.queue)) || bg.exited()
	})
	require.False(t, bg.exited(), "the producer waits for its run; stderr:\n%s", bg.stderr.String())
	require.NoError(t, insp.DeleteQueue(e.queue, true), "asynq queue remove --force")

	requeue := "`producer requeue --run-id " + runID + "` enqueues them again"
	w := bg.wait(t, time.Minute)
	require.Equal(t, 1, w.code, w.stderr)
	require.Contains(t, lastLine(w.stderr), "run "+runID+": 10 batch(es) lost (no result and no task): ")
	require.Contains(t, lastLine(w.stderr), requeue)

	st := inspectRun(t, e, "status", "-run-id", runID)
	require.Equal(t, 1, st.code, st.stderr)
	require.Regexp(t, `lost +10: `, st.stdout)
	require.Contains(t, st.stdout, pausedLine(e.queue)+"\n")
	require.Equal(t, "producer: run "+runID+": 10 batch(es) lost; "+requeue+"; but "+pausedLine(e.queue), lastLine(st.stderr))

	rq := inspectRun(t, e, "requeue", "-run-id", runID)
	require.Equal(t, 0, rq.code, rq.stderr)
	require.NoError(t, insp.UnpauseQueue(e.queue))
	startWorker(t, e)
	done := produce(t, e, append(run, "-wait", "-timeout", "1m")...)
	require.Equal(t, 0, done.code, done.stderr)
	st = inspectRun(t, e, "status", "-run-id", runID)
	require.Equal(t, 0, st.code, st.stderr)
	require.Regexp(t, `done +10\n`, st.stdout)
	require.NotContains(t, st.stdout, "paused")
}
