package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/base"
	"bitqueue/internal/tasks"
	"bitqueue/redistest"
)

// TestRunIDBoundToFingerprint re-runs a run id with another --shards,
// --batch-size, --count or --input: each exits 2 naming the field, both
// values and the run id, enqueues nothing and leaves the record as it was;
// the same everything again is idempotent.
func TestRunIDBoundToFingerprint(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	fileA := writeInput(t, testNumbers(100))
	fileB := writeInput(t, append(testNumbers(99), 12345))
	baseArgs := map[string][]string{
		"random": {"-count", "100", "-batch-size", "10", "-run-id", "bound-random"},
		"file":   {"-input", fileA, "-batch-size", "10", "-run-id", "bound-file"},
	}
	for _, args := range baseArgs {
		produceOK(t, e, args...)
	}
	records := map[string]map[string]string{}
	for _, id := range []string{"bound-random", "bound-file"} {
		h, err := e.Client.HGetAll(ctx, base.RecordKey(e.prefix, id)).Result()
		require.NoError(t, err)
		require.NotEmpty(t, h["input"], "record of %s: %v", id, h)
		records[id] = h
	}
	pending := func() int {
		info, err := e.inspector(t).GetQueueInfo(e.queue)
		require.NoError(t, err)
		return info.Pending
	}
	require.Equal(t, 20, pending())

	tests := []struct {
		name, runID, field, recorded, given string
		args                                []string
	}{
		{"other shards", "bound-random", "shards", "1", "4", []string{"-count", "100", "-batch-size", "10", "-shards", "4"}},
		{"other batch size", "bound-random", "batch_size", "10", "5", []string{"-count", "100", "-batch-size", "5"}},
		{"other count", "bound-random", "input", "random seed=", "count=101", []string{"-count", "101", "-batch-size", "10"}},
		{"other seed", "bound-random", "input", "random seed=", "random seed=7 ", []string{"-count", "100", "-batch-size", "10", "-seed", "7"}},
		{"other input file", "bound-file", "input", records["bound-file"]["input"], "sha256:", []string{"-input", fileB, "-batch-size", "10"}},
		{"random for a file", "bound-file", "input", records["bound-file"]["input"], "random seed=", []string{"-count", "100", "-batch-size", "10"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := produce(t, e, append(tc.args, "-run-id", tc.runID)...)
			require.Equal(t, 2, r.code, "exit code; stderr:\n%s", r.stderr)
			last := lastLine(r.stderr)
			require.Contains(t, last, "run "+tc.runID+" is bound to "+tc.field+"=")
			require.Contains(t, last, tc.recorded)
			require.Contains(t, last, tc.given)
			require.Contains(t, last, "nothing enqueued")
			require.NotContains(t, r.stderr, "msg=enqueued")
			require.Equal(t, 20, pending(), "tasks after a refused re-run")
			for _, q := range base.Queues(e.queue, 4) {
				n, err := e.Client.Exists(ctx, "asynq:{"+q+"}:pending").Result()
				require.NoError(t, err)
				require.Zero(t, n, "tasks on shard queue %s", q)
			}
			h, err := e.Client.HGetAll(ctx, base.RecordKey(e.prefix, tc.runID)).Result()
			require.NoError(t, err)
			require.Equal(t, records[tc.runID], h, "record unchanged")
		})
	}

	// The same everything again: nothing new, exit 0.
	for _, args := range baseArgs {
		r := produceOK(t, e, args...)
		require.Contains(t, r.stderr, "new=0 already_queued=10 already_done=0")
	}
	require.Equal(t, 20, pending())
}

// TestResultsListDelete reads a finished run back by its id alone, lists the
// runs Redis knows, and deletes one: its tasks, results and bitmap go, a
// tombstone refuses its id.
func TestResultsListDelete(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	nums := testNumbers(95)
	in := writeInput(t, nums)
	startWorker(t, e)
	produceOK(t, e, "-input", in, "-batch-size", "7", "-run-id", "kept", "-wait", "-timeout", "1m")
	produceOK(t, e, "-count", "30", "-batch-size", "10", "-run-id", "gone", "-wait", "-timeout", "1m")

	// results, to a file and to stdout, from the results alone.
	dir := t.TempDir()
	out := filepath.Join(dir, "kept.tsv")
	res := inspectRun(t, e, "results", "-run-id", "kept", "-out", out)
	require.Equal(t, 0, res.code, res.stderr)
	checkOut(t, out, nums)
	res = inspectRun(t, e, "results", "-run-id", "kept")
	require.Equal(t, 0, res.code, res.stderr)
	written, err := os.ReadFile(out)
	require.NoError(t, err)
	require.Equal(t, string(written), res.stdout)

	// A missing result: exit 1 naming its batch, no file.
	require.NoError(t, e.Client.Del(ctx, base.ResultKey(e.prefix, "kept", 9)).Err())
	partial := filepath.Join(dir, "partial.tsv")
	res = inspectRun(t, e, "results", "-run-id", "kept", "-out", partial)
	require.Equal(t, 1, res.code, res.stderr)
	require.Contains(t, lastLine(res.stderr), "batch kept:9")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "only kept.tsv: %v", entries)

	// list, newest first.
	ls := inspectRun(t, e, "list")
	require.Equal(t, 0, ls.code, ls.stderr)
	require.Regexp(t, `(?s)gone +\S+ +3/3 +done +random seed=.*\nkept +\S+ +14/14 +done +sha256:`, ls.stdout)
	ls = inspectRun(t, e, "list", "-json")
	require.Equal(t, 0, ls.code, ls.stderr)
	lines := strings.Split(strings.TrimSpace(ls.stdout), "\n")
	require.Len(t, lines, 2)
	var first struct {
		RunID   string `json:"run_id"`
		Batches int    `json:"batches"`
		Done    int    `json:"done"`
		State   string `json:"state"`
	}
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &first))
	require.Equal(t, "gone", first.RunID)
	require.Equal(t, []any{3, 3, "done"}, []any{first.Batches, first.Done, first.State})

	// delete: a task kept with the run too (as --retention keeps them).
	task, err := tasks.NewBitsTask(base.Batch{RunID: "gone", Seq: 2, Nums: []uint64{1}}, asynq.Queue(e.queue), asynq.ProcessIn(time.Hour))
	require.NoError(t, err)
	require.NoError(t, e.Client.Del(ctx, base.ResultKey(e.prefix, "gone", 2)).Err())
	_, err = asynq.NewClientFromRedisClient(e.Client).Enqueue(task)
	require.NoError(t, err)
	del := inspectRun(t, e, "delete", "-run-id", "gone")
	require.Equal(t, 0, del.code, del.stderr)
	require.Contains(t, del.stdout, "run gone: deleted 1 task(s) and 3 result key(s)")
	require.Empty(t, scanKeys(t, e.Client, e.prefix+":result:gone:*"))
	n, err := e.Client.Exists(ctx, base.DoneKey(e.prefix, "gone")).Result()
	require.NoError(t, err)
	require.Zero(t, n, "done bitmap")
	_, err = e.inspector(t).GetTaskInfo(e.queue, "gone:2")
	require.ErrorIs(t, err, asynq.ErrTaskNotFound)

	again := produce(t, e, "-count", "30", "-batch-size", "10", "-run-id", "gone")
	require.Equal(t, 2, again.code, again.stderr)
	require.Contains(t, lastLine(again.stderr), "run gone was deleted")
	ls = inspectRun(t, e, "list")
	require.Equal(t, 0, ls.code, ls.stderr)
	require.Regexp(t, `gone +\S+ +0/3 +deleted`, ls.stdout)
}

// TestWorkerArchivesTaskIDMismatch sends a real worker a task whose payload
// names another batch than its task id: it is archived without retries, one
// error line naming both, and nothing is written under either batch.
func TestWorkerArchivesTaskIDMismatch(t *testing.T) {
	t.Parallel()
	e := setup(t)
	payload, err := base.EncodeBatch(base.Batch{RunID: "other", Seq: 5, Nums: []uint64{3}})
	require.NoError(t, err)
	_, err = asynq.NewClientFromRedisClient(e.Client).Enqueue(asynq.NewTask(base.TypeBits, payload),
		asynq.TaskID("mine:0"), asynq.Queue(e.queue), asynq.MaxRetry(5))
	require.NoError(t, err)
	w := startWorker(t, e)
	redistest.WaitFor(t, time.Minute, "the task archived", func() bool {
		info, err := e.inspector(t).GetTaskInfo(e.queue, "mine:0")
		return err == nil && info.State == asynq.TaskStateArchived
	})
	info, err := e.inspector(t).GetTaskInfo(e.queue, "mine:0")
	require.NoError(t, err)
	require.Zero(t, info.Retried)
	redistest.WaitFor(t, 10*time.Second, "the error line", func() bool {
		return strings.Contains(w.Logs(), `msg="task failed permanently; archived" task_id=mine:0`)
	})
	var line string
	for _, l := range strings.Split(w.Logs(), "\n") {
		if strings.Contains(l, "task_id=mine:0") && strings.Contains(l, "level=ERROR") {
			line = l
		}
	}
	require.Contains(t, line, "batch other:5", "error line: %s", line)
	require.Empty(t, scanKeys(t, e.Client, e.prefix+":result:*"))
}

// commandStats returns the calls of every command Redis counted, by name
// (INFO commandstats; commands run by scripts included).
func commandStats(t *testing.T, c *redis.Client) map[string]int {
	t.Helper()
	info, err := c.Info(context.Background(), "commandstats").Result()
	require.NoError(t, err)
	out := map[string]int{}
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":calls=")
		if !ok {
			continue
		}
		calls, _, _ := strings.Cut(rest, ",")
		n, err := strconv.Atoi(calls)
		require.NoError(t, err, line)
		out[strings.TrimPrefix(name, "cmdstat_")] = n
	}
	return out
}

// TestWaitCostDoesNotGrowWithBatches waits, through the real producer and a
// Redis of the test's own, on a run of 10,000 batches that no worker serves:
// from the end of the enqueue to the --timeout, Redis counts one BITCOUNT per
// poll and, for the archive check, a few commands a second, far fewer in all
// than one command per batch (which one poll used to cost).
func TestWaitCostDoesNotGrowWithBatches(t *testing.T) {
	t.Parallel()
	needRedisServer(t, false)
	s := redistest.StartServer(t, redistest.Options{})
	client := s.ClientT(t)
	e := env{Redis: &redistest.Redis{URL: s.URL(), Client: client}, queue: "polled", prefix: "polled"}
	const batches = 10_000
	bg := startProducer(t, e, "-count", strconv.Itoa(batches), "-batch-size", "1", "-run-id", "polled", "-wait", "-timeout", "4s", "-lost-after", "1h")
	redistest.WaitFor(t, time.Minute, "the batches enqueued", func() bool { return strings.Contains(bg.stderr.String(), "msg=enqueued") })
	before := commandStats(t, client)
	r := bg.wait(t, time.Minute)
	require.Equal(t, 1, r.code, r.stderr)
	require.Contains(t, lastLine(r.stderr), "timed out after 4s: 10000 of 10000 batches of run polled have no result yet")
	after := commandStats(t, client)
	total, polls := 0, after["bitcount"]-before["bitcount"]
	for name, n := range after {
		total += n - before[name]
	}
	total -= 2 * 1 // the two INFO commands of the test
	require.Positive(t, polls, "polls")
	require.Less(t, total, batches, "commands while waiting on %d batches: %d in %d polls", batches, total, polls)
	require.Less(t, after["exists"]-before["exists"], polls, "EXISTS while waiting (asynq's queue lookups run a few)")
	t.Logf("while waiting on %d batches: %d commands in %d polls (one BITCOUNT each; the rest checks the archive)", batches, total, polls)
}
