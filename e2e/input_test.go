package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/fixture"
)

// produceFrom runs the producer on e's queue and prefix with stdin as its
// standard input (an *os.File is handed to it as is).
func produceFrom(t *testing.T, e env, stdin io.Reader, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args = append([]string{"-redis", e.URL, "-queue", e.queue, "-prefix", e.prefix}, args...)
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "producer"), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
	} else {
		require.NoError(t, err, "run producer")
	}
	return r
}

// requireNothingEnqueued checks that e's queue holds no task and that no key
// under e's prefix exists.
func requireNothingEnqueued(t *testing.T, e env) {
	t.Helper()
	info := queueState(t, e)
	require.Zero(t, info.Size, "tasks in the queue")
	require.Empty(t, scanKeys(t, e.Client, e.prefix+":*"), "keys under the prefix")
}

// --out naming the input, by any name, is refused before anything is
// enqueued, and the input is left intact. Today's main truncated the input
// and exited 0.
func TestOutNamingTheInputIsRefused(t *testing.T) {
	e := setup(t)
	const content = "1 2 3\n4 5 6\n"
	dir := t.TempDir()
	in := filepath.Join(dir, "numbers.txt")
	require.NoError(t, os.WriteFile(in, []byte(content), 0o644))
	require.NoError(t, os.Symlink(in, filepath.Join(dir, "link.txt")))
	require.NoError(t, os.Link(in, filepath.Join(dir, "hard.txt")))
	for _, tc := range []struct {
		name    string
		input   string
		out     string
		stdinIn bool // stdin redirected from the input file
	}{
		{"same path", in, in, false},
		{"another spelling", in, filepath.Join(dir, ".", "..", filepath.Base(dir), "numbers.txt"), false},
		{"a symbolic link to it", in, filepath.Join(dir, "link.txt"), false},
		{"input through a symbolic link", filepath.Join(dir, "link.txt"), in, false},
		{"a hard link to it", in, filepath.Join(dir, "hard.txt"), false},
		{"stdin redirected from it", "-", in, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdin io.Reader = strings.NewReader("")
			if tc.stdinIn {
				f, err := os.Open(in)
				require.NoError(t, err)
				defer f.Close()
				stdin = f
			}
			// (-timeout: no worker runs, so a producer that let this through
			// would not wait long.)
			r := produceFrom(t, e, stdin, "-input", tc.input, "-batch-size", "2", "-wait", "-timeout", "10s", "-out", tc.out)
			require.Equal(t, 2, r.code, r.stderr)
			require.Contains(t, r.stderr, "--out "+tc.out+" is the input")
			require.Empty(t, r.stdout)
			got, err := os.ReadFile(in)
			require.NoError(t, err)
			require.Equal(t, content, string(got), "the input is intact")
			requireNothingEnqueued(t, e)
			require.Equal(t, []string{"hard.txt", "link.txt", "numbers.txt"}, fixture.DirNames(t, dir), "no temporary file is left beside the input")
		})
	}
}

// An --out that cannot be written is refused before the input is read or
// anything enqueued. Today's main tried it only once the run was over.
func TestOutUnwritableIsRefusedFirst(t *testing.T) {
	e := setup(t)
	dir := t.TempDir()
	for _, tc := range []struct {
		name, out, want string
	}{
		{"missing directory", "/no/such/dir/x", "--out /no/such/dir/x: cannot create a file in its directory /no/such/dir: no such file or directory"},
		{"a directory", dir, "--out " + dir + ": is a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := produce(t, e, "-count", "1000", "-batch-size", "100", "-wait", "-timeout", "10s", "-out", tc.out)
			require.Equal(t, 2, r.code, r.stderr)
			require.Equal(t, "producer: "+tc.want+"\n", r.stderr, "one line, before any log line")
			require.Empty(t, r.stdout)
			requireNothingEnqueued(t, e)
		})
	}
	require.Empty(t, fixture.DirNames(t, dir))
}

// --out is replaced only once complete: a run that fails (here, --wait
// times out with no worker) leaves the old file as it was and no temporary
// file; a run that succeeds replaces it whole.
func TestOutWrittenWholeOrNotAtAll(t *testing.T) {
	e := setup(t)
	nums := testNumbers(5000)
	in := writeInput(t, nums)
	dir := t.TempDir()
	out := filepath.Join(dir, "bits.tsv")
	require.NoError(t, os.WriteFile(out, []byte("old\n"), 0o644))

	r := produce(t, e, "-input", in, "-run-id", "whole", "-batch-size", "1000", "-wait", "-timeout", "1s", "-out", out)
	require.Equal(t, 1, r.code, r.stderr)
	require.Contains(t, r.stderr, "timed out after 1s")
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	require.Equal(t, "old\n", string(got), "a failed run leaves --out as it was")
	require.Equal(t, []string{"bits.tsv"}, fixture.DirNames(t, dir), "and no temporary file")

	startWorker(t, e)
	r = produceOK(t, e, "-input", in, "-run-id", "whole", "-batch-size", "1000", "-wait", "-out", out)
	require.Equal(t, "whole\n", r.stdout, "the run id alone on stdout")
	checkOut(t, out, nums)
	require.Equal(t, []string{"bits.tsv"}, fixture.DirNames(t, dir))
}

// The producer reads its input once: an input whose bytes differ at each
// read still makes one whole run. /dev/stdin on a pipe is such an input:
// a second open finds the pipe drained. Today's main counted 250 integers,
// then enqueued none of them and exited 0.
func TestInputReadOnce(t *testing.T) {
	e := setup(t)
	var sb strings.Builder
	for i := range 250 {
		sb.WriteString(strconv.Itoa(i) + "\n")
	}
	r := produceStdin(t, e, sb.String(), "-input", "/dev/stdin", "-run-id", "once", "-batch-size", "100")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stderr, "batches=3 new=3 already_queued=0 already_done=0")
	require.Equal(t, []string{"once:0", "once:1", "once:2"}, taskIDs(t, e, e.inspector(t).ListPendingTasks))

	// And with --wait and --out, the rows are those of the one snapshot.
	startWorker(t, e)
	out := filepath.Join(t.TempDir(), "bits.tsv")
	r = produceStdin(t, e, sb.String(), "-input", "/dev/stdin", "-run-id", "once-out", "-batch-size", "100", "-wait", "-out", out)
	require.Equal(t, 0, r.code, r.stderr)
	nums := make([]uint64, 250)
	for i := range nums {
		nums[i] = uint64(i)
	}
	checkOut(t, out, nums)
}

var runIDRE = regexp.MustCompile(`^\d{8}T\d{6}Z-[0-9a-f]{8}$`)

// A one-shot run prints its run id alone on stdout, so that scripts can
// capture it; --json prints a one-line summary instead. Logs stay on stderr.
func TestRunIDOnStdout(t *testing.T) {
	e := setup(t)
	r := produceOK(t, e, "-count", "250", "-batch-size", "100")
	id := strings.TrimSuffix(r.stdout, "\n")
	require.Regexp(t, runIDRE, id, "stdout holds the generated run id alone: %q", r.stdout)
	require.Equal(t, id+"\n", r.stdout)
	require.Contains(t, r.stderr, "run_id="+id)
	require.Contains(t, taskIDs(t, e, e.inspector(t).ListPendingTasks), id+":0")

	r = produceOK(t, e, "-count", "250", "-batch-size", "100", "-run-id", "given")
	require.Equal(t, "given\n", r.stdout)

	type summary struct {
		RunID         string   `json:"run_id"`
		Batches       int      `json:"batches"`
		Integers      uint64   `json:"integers"`
		Enqueued      int      `json:"enqueued"`
		AlreadyQueued int      `json:"already_queued"`
		AlreadyDone   int      `json:"already_done"`
		Waited        bool     `json:"waited"`
		Seconds       *float64 `json:"seconds"`
	}
	decode := func(r result) summary {
		t.Helper()
		require.Equal(t, 1, strings.Count(r.stdout, "\n"), "one line: %q", r.stdout)
		var s summary
		dec := json.NewDecoder(strings.NewReader(r.stdout))
		dec.DisallowUnknownFields()
		require.NoError(t, dec.Decode(&s), r.stdout)
		require.NotNil(t, s.Seconds)
		require.GreaterOrEqual(t, *s.Seconds, 0.0)
		s.Seconds = nil
		return s
	}
	// A re-run of "given": every batch is already queued.
	r = produceOK(t, e, "-count", "250", "-batch-size", "100", "-run-id", "given", "-json")
	require.Equal(t, summary{RunID: "given", Batches: 3, Integers: 250, AlreadyQueued: 3}, decode(r))

	startWorker(t, e)
	r = produceOK(t, e, "-count", "250", "-batch-size", "100", "-run-id", "json-wait", "-json", "-wait")
	require.Equal(t, summary{RunID: "json-wait", Batches: 3, Integers: 250, Enqueued: 3, Waited: true}, decode(r))

	r = produce(t, e, "-count", "250", "-json", "-wait", "-out", "-")
	require.Equal(t, 2, r.code, r.stderr)
	require.Contains(t, r.stderr, `--json and --out "-" both write to stdout`)
}

// --count has a maximum, and so has the number of batches it makes; both
// are found before Redis is asked anything (the Redis named last here does
// not exist, so that a producer that let them through would fail soon).
func TestCountBounds(t *testing.T) {
	e := setup(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-count", "10000000001"}, "--count 10000000001 out of range [1, 10000000000]"},
		{[]string{"-count", "18446744073709551615"}, "--count 18446744073709551615 out of range [1, 10000000000]"},
		{[]string{"-count", "10000000000", "-batch-size", "2"}, "random: 10000000000 integers in batches of 2 make 5000000000 batches, more than 4294967296; raise --batch-size"},
	} {
		r := produce(t, e, append(tc.args, "-redis", "redis://127.0.0.1:1/0", "-redis-wait", "1s")...)
		require.Equal(t, 2, r.code, r.stderr)
		require.Contains(t, r.stderr, tc.want)
	}
	requireNothingEnqueued(t, e)
}
