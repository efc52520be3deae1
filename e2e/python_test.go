package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/base"
	"bitqueue/internal/rdb"
	"bitqueue/redistest"
)

// debianPython is the interpreter the Python examples run on in the tests:
// Debian's, the one python3-redis installs redis-py for.
const debianPython = "/usr/bin/python3"

// pythonExamples is where the Python producer and reader live.
var pythonExamples = filepath.Join("..", "examples", "python")

// requirePython skips the test, saying why, when the Python examples cannot
// run here (python3 or its redis module missing), unless
// BITQUEUE_PEERS=require (as in CI), where it fails the test instead: the
// rule of the benchmark's Python peers.
func requirePython(t *testing.T) {
	t.Helper()
	out, err := exec.Command(debianPython, "-c", "import redis").CombinedOutput()
	if err == nil {
		return
	}
	why := fmt.Sprintf("%s cannot import redis (apt-get install python3 python3-redis): %v: %s", debianPython, err, strings.TrimSpace(string(out)))
	if os.Getenv("BITQUEUE_PEERS") == "require" {
		t.Fatalf("BITQUEUE_PEERS=require: %s", why)
	}
	t.Skipf("the Python examples cannot run here, skipped (BITQUEUE_PEERS=require fails instead): %s", why)
}

// runPython runs one of the Python examples with args.
func runPython(t *testing.T, script string, args ...string) result {
	t.Helper()
	return runCmd(t, exec.Command(debianPython, append([]string{filepath.Join(pythonExamples, script)}, args...)...))
}

// asynqMessage returns the task message asynq's own client stores for a
// task of the given options: enqueued on a scratch Redis, read back from
// the task's hash.
func asynqMessage(t *testing.T, task *asynq.Task, opts ...asynq.Option) []byte {
	t.Helper()
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { c.Close() })
	info, err := asynq.NewClientFromRedisClient(c).Enqueue(task, opts...)
	require.NoError(t, err)
	msg, err := c.HGet(context.Background(), "asynq:{"+info.Queue+"}:t:"+info.ID, "msg").Bytes()
	require.NoError(t, err)
	return msg
}

// TestPythonProducerAgainstRealWorkers runs a producer written in Python
// from docs/contracts.md alone (examples/python/producer.py) against real
// workers: the run record, its index entry and every task it writes are
// those the Go producer writes, the workers convert every batch, the Python
// reader (results.py) prints every row as strconv.FormatInt does and as
// `producer results` does, and the Go producer takes the run as its own: a
// re-run with the same id and input is idempotent, and `producer status`
// reports it done.
func TestPythonProducerAgainstRealWorkers(t *testing.T) {
	requirePython(t)
	t.Parallel()
	e := setup(t)
	const runID, batch, shards = "py-run", 100, 3
	nums := testNumbers(2345) // 24 batches, the last of 45
	const batches = 24
	for _, q := range base.Queues(e.queue, shards) {
		t.Cleanup(func() { _ = e.DeleteNamespace(context.Background(), q, e.prefix) })
	}
	in := writeInput(t, nums)
	data, err := os.ReadFile(in)
	require.NoError(t, err)
	sum := sha256.Sum256(data)
	ctx := context.Background()

	start := time.Now()
	r := runPython(t, "producer.py", "--redis", e.URL, "--queue", e.queue, "--prefix", e.prefix,
		"--shards", strconv.Itoa(shards), "--batch-size", strconv.Itoa(batch), "--run-id", runID, "--input", in)
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, runID+"\n", r.stdout)
	require.Contains(t, r.stderr, fmt.Sprintf("batches=%d new=%d already_queued=0 already_done=0", batches, batches))

	// The record: every field, as base.Record writes it, with its TTL, and
	// the run in the index of runs.
	db := rdb.New(e.Client, e.prefix)
	rec, ok, err := db.LoadRecord(ctx, runID)
	require.NoError(t, err)
	require.True(t, ok, "run record")
	require.Equal(t, base.Record{
		RunID: runID, Queue: e.queue, Shards: shards, Batches: batches, Integers: uint64(len(nums)),
		BatchSize: batch, Input: "sha256:" + hex.EncodeToString(sum[:]), Created: rec.Created, Updated: rec.Created,
	}, rec)
	require.WithinDuration(t, start, rec.Created, time.Minute)
	key := base.RecordKey(e.prefix, runID)
	h, err := e.Client.HGetAll(ctx, key).Result()
	require.NoError(t, err)
	want := map[string]string{}
	fields := rec.Fields()
	for i := 0; i < len(fields); i += 2 {
		want[fields[i].(string)] = fmt.Sprint(fields[i+1])
	}
	require.Equal(t, want, h, "fields of %s", key)
	ttl, err := e.Client.PTTL(ctx, key).Result()
	require.NoError(t, err)
	require.InDelta(t, base.DefaultTTL.Seconds(), ttl.Seconds(), 60, "record TTL")
	score, err := e.Client.ZScore(ctx, base.RunsKey(e.prefix), runID).Result()
	require.NoError(t, err)
	require.Equal(t, float64(rec.Created.UnixMilli()), score, "score in %s", base.RunsKey(e.prefix))

	// Every task: on its shard's queue, pending, its message byte for byte
	// the one asynq's Go client writes for the producer's default options
	// (--max-retry 10, --task-timeout 1m).
	insp := e.inspector(t)
	for seq := range uint64(batches) {
		id := base.TaskID(runID, seq)
		q := base.QueueOf(e.queue, shards, id)
		payload, err := base.EncodeBatch(base.Batch{RunID: runID, Seq: seq, Nums: nums[seq*batch : min((seq+1)*batch, uint64(len(nums)))]})
		require.NoError(t, err)
		opts := []asynq.Option{asynq.TaskID(id), asynq.Queue(q), asynq.MaxRetry(10), asynq.Timeout(time.Minute)}
		task, err := e.Client.HGetAll(ctx, "asynq:{"+q+"}:t:"+id).Result()
		require.NoError(t, err)
		require.Equal(t, "pending", task["state"], "task %s", id)
		since, err := strconv.ParseInt(task["pending_since"], 10, 64)
		require.NoError(t, err, "pending_since of %s", id)
		require.WithinDuration(t, start, time.Unix(0, since), time.Minute, "pending_since of %s", id)
		require.Equal(t, asynqMessage(t, asynq.NewTask(base.TypeBits, payload), opts...), []byte(task["msg"]), "message of %s", id)
		pos, err := e.Client.LPos(ctx, "asynq:{"+q+"}:pending", id, redis.LPosArgs{}).Result()
		require.NoError(t, err, "%s in the pending list of %s", id, q)
		require.GreaterOrEqual(t, pos, int64(0))
		info, err := insp.GetTaskInfo(q, id)
		require.NoError(t, err)
		require.Equal(t, base.TypeBits, info.Type)
		require.Equal(t, payload, info.Payload)
		require.Equal(t, asynq.TaskStatePending, info.State)
		require.Equal(t, 10, info.MaxRetry)
		require.Equal(t, time.Minute, info.Timeout)
		require.True(t, info.Deadline.IsZero(), "deadline of %s: %s", id, info.Deadline)
		require.Zero(t, info.Retention)
	}
	for _, q := range base.Queues(e.queue, shards) {
		member, err := e.Client.SIsMember(ctx, "asynq:queues", q).Result()
		require.NoError(t, err)
		require.True(t, member, "%s in asynq:queues", q)
	}

	// Real workers convert every batch.
	startWorker(t, e, "-shards", strconv.Itoa(shards))
	startWorker(t, e, "-shards", strconv.Itoa(shards))
	processed := func() (n int) {
		for _, q := range base.Queues(e.queue, shards) {
			info, err := insp.GetQueueInfo(q)
			if err != nil || info.Size > 0 {
				return -1
			}
			n += info.Processed
		}
		return n
	}
	redistest.WaitFor(t, 2*time.Minute, "every batch done and its task marked done", func() bool {
		done, err := db.DoneCount(ctx, runID)
		return err == nil && done == batches && processed() == batches
	})

	// The Python reader prints every row as strconv.FormatInt does, and
	// exactly what `producer results` prints.
	py := runPython(t, "results.py", "--redis", e.URL, "--prefix", e.prefix, "--run-id", runID)
	require.Equal(t, 0, py.code, py.stderr)
	lines := strings.Split(strings.TrimSuffix(py.stdout, "\n"), "\n")
	require.Len(t, lines, len(nums))
	for i, n := range nums {
		if want := strconv.FormatUint(n, 10) + "\t" + strconv.FormatInt(int64(n), 2); lines[i] != want {
			require.Equal(t, want, lines[i], "line %d of results.py", i+1)
		}
	}
	goRows := inspectRun(t, e, "results", "-run-id", runID)
	require.Equal(t, 0, goRows.code, goRows.stderr)
	require.Equal(t, goRows.stdout, py.stdout, "results.py and producer results")

	// The Go producer takes the run as its own: the same id and input are
	// an idempotent re-run that enqueues nothing, and status says done.
	again := produce(t, e, "-input", in, "-run-id", runID, "-shards", strconv.Itoa(shards), "-batch-size", strconv.Itoa(batch), "-json")
	require.Equal(t, 0, again.code, again.stderr)
	var sum2 struct {
		Batches       int `json:"batches"`
		Enqueued      int `json:"enqueued"`
		AlreadyQueued int `json:"already_queued"`
		AlreadyDone   int `json:"already_done"`
	}
	require.NoError(t, json.Unmarshal([]byte(again.stdout), &sum2), again.stdout)
	require.Equal(t, batches, sum2.Batches)
	require.Equal(t, batches, sum2.AlreadyDone, again.stdout)
	require.Zero(t, sum2.Enqueued, again.stdout)
	require.Zero(t, sum2.AlreadyQueued, again.stdout)
	require.Equal(t, batches, processed(), "batches processed, and none queued, after the Go re-run")

	st, code := statusJSON(t, e, runID)
	require.Equal(t, 0, code, "producer status of the run")
	require.Equal(t, batches, st.Done)
	require.Zero(t, st.Pending+st.Failed+st.Lost, "status: %+v", st)
}
