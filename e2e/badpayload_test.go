package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"bitqueue/fixture"
	"bitqueue/internal/base"
	"bitqueue/redistest"
)

// TestWorkerRejectsBadPayloads sends a real worker every malformed payload
// of testdata/badpayload, one above the payload limit, and a flood of
// headers claiming 2^40 integers. Each is a permanent failure: archived at
// once with its reason, never retried, logged in one line naming the task.
// The worker keeps serving, its memory does not grow with what payloads
// claim, and a good run goes through it afterwards.
func TestWorkerRejectsBadPayloads(t *testing.T) {
	t.Parallel()
	e := setup(t)
	w := startWorker(t, e, "-log-level", "info", "-cache-bits", "10", "-concurrency", "4")
	rssBefore := rss(t, w)

	cases := fixture.BadPayloads(t)
	require.GreaterOrEqual(t, len(cases), 20, "bad payload corpus")
	oversized := append([]byte{base.PayloadVersion, 1, 'r', 5, 1, 1}, make([]byte, base.MaxPayload)...)
	cases = append(cases, fixture.CorpusCase{Name: "oversized", Payload: oversized, Want: fmt.Sprintf("payload is %d bytes, above the limit of %d", len(oversized), base.MaxPayload)})

	client := asynq.NewClientFromRedisClient(e.Client)
	t.Cleanup(func() { client.Close() })
	enqueue := func(id string, payload []byte) {
		t.Helper()
		_, err := client.Enqueue(asynq.NewTask(base.TypeBits, payload), asynq.TaskID(id), asynq.Queue(e.queue), asynq.MaxRetry(5))
		require.NoError(t, err, "enqueue %s", id)
	}
	for _, c := range cases {
		enqueue("bad-"+c.Name, c.Payload)
	}
	// A flood of headers that each claim 2^40 integers of 8 bytes.
	const flood = 300
	claim := []byte{base.PayloadVersion, 1, 'r', 5, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20, 8, 1, 2, 3}
	for i := range flood {
		enqueue("flood-"+strconv.Itoa(i), claim)
	}
	want := len(cases) + flood
	redistest.WaitFor(t, 2*time.Minute, "every bad task archived", func() bool { return queueState(t, e).Archived == want })

	insp := e.inspector(t)
	logs := w.Logs()
	for _, c := range cases {
		id := "bad-" + c.Name
		info, err := insp.GetTaskInfo(e.queue, id)
		require.NoError(t, err, id)
		require.Equal(t, asynq.TaskStateArchived, info.State, id)
		require.Zero(t, info.Retried, "retries of %s", id)
		require.Contains(t, info.LastErr, c.Want, id)
		require.Contains(t, info.LastErr, "malformed batch payload", id)
		// One line names the task, with the reason.
		var lines []string
		for line := range strings.SplitSeq(logs, "\n") {
			if strings.Contains(line, "task_id="+id+" ") {
				lines = append(lines, line)
			}
		}
		require.Len(t, lines, 1, "log lines naming %s:\n%s", id, strings.Join(lines, "\n"))
		require.Contains(t, lines[0], `level=ERROR msg="task failed permanently; archived"`)
		require.Contains(t, lines[0], "retried=0")
	}
	info := queueState(t, e)
	require.Zero(t, info.Retry+info.Pending+info.Active, "bad tasks left to retry or run")
	require.True(t, w.alive(), "the worker exited")

	// Headers claiming 8 TiB each allocated nothing to speak of.
	rssAfter := rss(t, w)
	t.Logf("worker resident memory: %d MiB before, %d MiB after %d bad payloads", rssBefore>>20, rssAfter>>20, want)
	require.Less(t, rssAfter-rssBefore, int64(64<<20), "memory growth of the worker")

	// The same worker still converts good batches.
	nums := testNumbers(5000)
	out := filepath.Join(t.TempDir(), "out.tsv")
	produceOK(t, e, "-input", writeInput(t, nums), "-batch-size", "500", "-run-id", "after-bad", "-wait", "-timeout", "1m", "-out", out)
	checkOut(t, out, nums)
}

// rss returns p's resident memory in bytes.
func rss(t *testing.T, p *proc) int64 {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Pid()))
	require.NoError(t, err, "memory of the worker (Linux /proc)")
	for line := range bytes.SplitSeq(status, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(string(v)), " kB"), 10, 64)
			require.NoError(t, err)
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc status")
	return 0
}

// TestProducerRefusesBadResults stores every malformed or wrong result hash
// of testdata/badresult under a run's key and asks the producer for the run's
// output: it must refuse, exit 1 and name the key and the fault, never
// writing a wrong line.
func TestProducerRefusesBadResults(t *testing.T) {
	t.Parallel()
	e := setup(t)
	in := filepath.Join(t.TempDir(), "in.txt")
	require.NoError(t, os.WriteFile(in, []byte("5 0 2\n"), 0o644))
	ctx := context.Background()
	for _, c := range fixture.BadResults(t) {
		t.Run(c.Name, func(t *testing.T) {
			runID := "badresult-" + c.Name
			key := e.prefix + ":result:" + runID + ":0"
			fields := make([]any, 0, 2*len(c.Hash))
			for f, v := range c.Hash {
				fields = append(fields, f, v)
			}
			// The run begins (its record is created), then the bad hash
			// takes the place of its batch's result: a new run would
			// delete what its id left behind.
			args := []string{"-input", in, "-batch-size", "3", "-run-id", runID}
			require.Equal(t, 0, produce(t, e, args...).code)
			require.NoError(t, e.Client.HSet(ctx, key, fields...).Err())
			out := filepath.Join(t.TempDir(), "out.tsv")
			r := produce(t, e, append(args, "-wait", "-timeout", "30s", "-out", out)...)
			require.Equal(t, 1, r.code, r.stderr)
			last := lastLine(r.stderr)
			require.Contains(t, last, "producer: ")
			// A malformed hash is named by its key, a well-formed one that
			// disagrees with the input by its batch.
			require.True(t, strings.Contains(last, key) || strings.Contains(last, "batch "+runID+":0"), "%s names neither %s nor its batch", last, key)
			require.Contains(t, last, c.Want)
			_, err := os.Stat(out)
			require.ErrorIs(t, err, fs.ErrNotExist, "--out is written whole or not at all: nothing from a bad result")
		})
	}
}

// The corpora under testdata are shared with the fuzz targets: the
// packages' corpus tests (internal/tasks, internal/input) check that each
// file here seeds testdata/fuzz of its target.
