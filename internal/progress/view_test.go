package progress

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/logging"
	"bitqueue/internal/runs"
)

// report is one progress report of a run of 10 batches of 100 integers, at
// a time of the fake clock (Wait's elapsed time, in seconds).
type report struct {
	at   float64
	done int
}

func (r report) info() runs.ProgressInfo {
	return runs.ProgressInfo{
		RunID: "r", Done: r.done, Total: 10,
		Integers: uint64(r.done) * 100, TotalIntegers: 1000,
		Elapsed: time.Duration(r.at * float64(time.Second)),
	}
}

// newTestView returns a view of mode writing to a buffer, and the buffer.
func newTestView(t *testing.T, mode progressMode) (*View, *bytes.Buffer) {
	t.Helper()
	var stderr bytes.Buffer
	format := "text"
	if mode == progressJSON {
		format = "json"
	}
	var w io.Writer = &stderr
	if mode == progressLive {
		w = &liveLine{w: &stderr}
	}
	log, err := logging.New(w, format, "info")
	require.NoError(t, err)
	return NewView(w, log, format, "start bin/worker", "bitqueue"), &stderr
}

// jsonLines returns each JSON log line of out as "msg key=value …" for the
// keys given, in their order; a key a line lacks is left out.
func jsonLines(t *testing.T, out string, keys ...string) []string {
	t.Helper()
	var lines []string
	for line := range strings.SplitSeq(strings.TrimSpace(out), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), line)
		s := fmt.Sprint(m["level"], " ", m["msg"])
		for _, k := range keys {
			if v, ok := m[k]; ok {
				_, isNumber := v.(float64)
				require.True(t, isNumber || k == "run_id", "%s is a number in %s", k, line)
				s += fmt.Sprintf(" %s=%v", k, v)
			}
		}
		lines = append(lines, s)
	}
	return lines
}

func TestProgressView(t *testing.T) {
	t.Parallel()
	// 100 integers a second, then the run ends at 12s.
	steady := []report{{0, 0}, {1, 1}, {4.9, 4}, {5, 5}, {9, 7}, {10.2, 8}, {11, 9}, {12, 10}}
	tests := []struct {
		name    string
		mode    progressMode
		reports []report
		want    string   // plain and live: the bytes written
		json    []string // json: the lines, as jsonLines gives them
	}{
		{
			name: "pipe: a line every 5s, then the end", mode: progressPlain, reports: steady,
			want: "run r: 5/10 batches done, 100 ints/s, ETA 5s\n" +
				"run r: 8/10 batches done, 78 ints/s, ETA 3s\n" +
				"run r: 10/10 batches done in 12s\n",
		},
		{
			name: "pipe: a short run shows the end alone", mode: progressPlain, reports: []report{{0, 0}, {0.5, 4}, {1.5, 10}},
			want: "run r: 10/10 batches done in 1.5s\n",
		},
		{
			name: "pipe: no batch done, no ETA", mode: progressPlain, reports: []report{{0, 0}, {2, 0}, {5.5, 0}},
			want: "run r: 0/10 batches done, 0 ints/s, ETA unknown\n",
		},
		{
			name: "pipe: the rate looks back 10s", mode: progressPlain, reports: []report{{0, 0}, {5, 1}, {10, 2}, {15, 7}, {20, 9}},
			// at 15s the window starts at 5s: 600 integers in 10s; at 20s, at 10s: 700 in 10s.
			want: "run r: 1/10 batches done, 20 ints/s, ETA 45s\n" +
				"run r: 2/10 batches done, 20 ints/s, ETA 40s\n" +
				"run r: 7/10 batches done, 60 ints/s, ETA 5s\n" +
				"run r: 9/10 batches done, 70 ints/s, ETA 1s\n",
		},
		{
			name: "terminal: one line redrawn in place, at most every 200ms, ended by the last", mode: progressLive,
			reports: []report{{0, 0}, {0.1, 1}, {0.25, 2}, {0.3, 3}, {0.5, 6}, {0.6, 10}},
			want: clearLine + "run r: 0/10 batches done, ETA unknown" + // no rate before it is measured
				clearLine + "run r: 2/10 batches done, 800 ints/s, ETA 1s" +
				clearLine + "run r: 6/10 batches done, 1.2 k ints/s, ETA 1s" +
				clearLine + "run r: 10/10 batches done in 600ms\n",
		},
		{
			name: "json: an info line with numbers every 5s, then the end", mode: progressJSON, reports: steady,
			json: []string{
				"INFO progress run_id=r done=5 total=10 ints_per_sec=100 eta_seconds=5",
				"INFO progress run_id=r done=8 total=10 ints_per_sec=78 eta_seconds=3",
				"INFO run r: 10/10 batches done in 12s run_id=r done=10 total=10 took=12",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, out := newTestView(t, tt.mode)
			for _, r := range tt.reports {
				v.progress(r.info())
			}
			v.Close()
			if tt.mode == progressJSON {
				require.Equal(t, tt.json, jsonLines(t, out.String(), "run_id", "done", "total", "ints_per_sec", "eta_seconds", "took"))
				return
			}
			require.Equal(t, tt.want, out.String())
		})
	}
}

// TestProgressViewUnserved checks the no-worker warning: a log line naming
// the queues, for how long, and the advice; on a terminal, above the live
// line, which is drawn again below it.
func TestProgressViewUnserved(t *testing.T) {
	t.Parallel()
	u := runs.Unserved{RunID: "r", Queues: []string{"bits-0", "bits-2"}, For: 10*time.Second + 300*time.Millisecond}
	want := "no worker serves queue(s) bits-0, bits-2 for 10s: start bin/worker"

	t.Run("json", func(t *testing.T) {
		t.Parallel()
		v, out := newTestView(t, progressJSON)
		v.unserved(u)
		require.Equal(t, []string{"WARN " + want + " run_id=r unserved_for=10"}, jsonLines(t, out.String(), "run_id", "unserved_for"))
	})
	t.Run("pipe", func(t *testing.T) {
		t.Parallel()
		v, out := newTestView(t, progressPlain)
		v.unserved(u)
		require.Contains(t, out.String(), `level=WARN msg="`+want+`" run_id=r queues="[bits-0 bits-2]" unserved_for=10s`)
	})
	t.Run("terminal", func(t *testing.T) {
		t.Parallel()
		v, out := newTestView(t, progressLive)
		v.progress(report{0, 0}.info())
		out.Reset()
		v.unserved(u)
		s := out.String()
		require.True(t, strings.HasPrefix(s, clearLine+"time="), "the live line is cleared first: %q", s)
		require.True(t, strings.HasSuffix(s, "\nrun r: 0/10 batches done, ETA unknown"), "and drawn again below: %q", s)
		require.Contains(t, s, want)
	})
}

// TestLiveLine checks the terminal's line with what else writes to it.
func TestLiveLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		do   func(l *liveLine)
		want string
	}{
		{"a log line with no live line passes through", func(l *liveLine) { l.Write([]byte("log\n")) }, "log\n"},
		{"a log line goes above the live line", func(l *liveLine) {
			l.set("1/2")
			l.Write([]byte("log\n"))
		}, clearLine + "1/2" + clearLine + "log\n1/2"},
		{"a line written in parts is not cut by the live line", func(l *liveLine) {
			l.set("1/2")
			l.Write([]byte("lo"))
			l.set("2/2")
			l.Write([]byte("g\n"))
		}, clearLine + "1/2" + clearLine + "log\n2/2"},
		{"end leaves the line and starts a new one", func(l *liveLine) {
			l.set("1/2")
			l.end()
			l.Write([]byte("error\n"))
		}, clearLine + "1/2\nerror\n"},
		{"end with no live line writes nothing", func(l *liveLine) { l.end() }, ""},
		{"finish replaces the line for good", func(l *liveLine) {
			l.set("1/2")
			l.finish("2/2 done")
			l.Write([]byte("log\n"))
		}, clearLine + "1/2" + clearLine + "2/2 done\nlog\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var b bytes.Buffer
			tt.do(&liveLine{w: &b})
			require.Equal(t, tt.want, b.String())
		})
	}
}

func TestLiveStderr(t *testing.T) {
	t.Parallel()
	env := func(term string) func(string) string {
		return func(k string) string {
			if k == "TERM" {
				return term
			}
			return ""
		}
	}
	var b bytes.Buffer
	require.Same(t, &b, Stderr(&b, "text", env("xterm")), "a buffer is no terminal")
	require.False(t, isTerminal(&b))
	// JSON logs and a dumb terminal never get a live line, whatever
	// standard error is.
	for _, tt := range []struct{ format, term string }{{"json", "xterm"}, {"text", "dumb"}} {
		_, ok := Stderr(os.Stderr, tt.format, env(tt.term)).(*liveLine)
		require.False(t, ok, "%s logs, TERM=%s", tt.format, tt.term)
	}
}

func TestHumanRate(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		rate float64
		want string
	}{
		{0, "0"}, {0.4, "0"}, {850, "850"}, {999.4, "999"}, {1000, "1 k"}, {12_345, "12.3 k"}, {123_456, "123 k"},
		{1_200_000, "1.2 M"}, {15_000_000, "15 M"}, {2.5e9, "2.5 G"},
	} {
		require.Equal(t, tt.want, humanRate(tt.rate), "%g", tt.rate)
	}
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{0, "1s"}, {400 * time.Millisecond, "1s"}, {2600 * time.Millisecond, "3s"}, {125 * time.Second, "2m5s"}, {time.Hour + 3*time.Second, "1h0m3s"},
	} {
		require.Equal(t, tt.want, shortDuration(tt.d), "%s", tt.d)
	}
}

// TestProgressViewPaused checks the paused queue warning: a log line naming
// the queues and how to resume them, with the run and the queues as fields.
func TestProgressViewPaused(t *testing.T) {
	t.Parallel()
	p := runs.Paused{RunID: "r", Queues: []string{"bits-1"}}
	want := "queue bits-1 is paused: `asynq queue unpause bits-1`; no worker takes its batches until then"

	t.Run("json", func(t *testing.T) {
		t.Parallel()
		v, out := newTestView(t, progressJSON)
		v.Watch().Paused(p)
		require.Equal(t, []string{"WARN " + want + " run_id=r"}, jsonLines(t, out.String(), "run_id"))
	})
	t.Run("pipe", func(t *testing.T) {
		t.Parallel()
		v, out := newTestView(t, progressPlain)
		v.Watch().Paused(p)
		require.Contains(t, out.String(), "level=WARN msg=\""+want+"\" run_id=r queues=[bits-1]")
	})
}

func TestWorkerAdvice(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		queue  string
		shards int
		prefix string
		want   string
	}{
		{"bits", 1, "bitqueue", "start bin/worker on the same Redis"},
		{"jobs", 4, "staging", "start bin/worker --queue jobs --shards 4 --prefix staging on the same Redis"},
	} {
		got := WorkerAdvice(tt.queue, tt.shards, tt.prefix)
		require.True(t, strings.HasPrefix(got, tt.want), got)
	}
}
