package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/fixture"
	"bitqueue/internal/base"
	"bitqueue/internal/input"
	"bitqueue/redistest"
)

// The run's edges: what an adversarial user does sideways to a run — lets
// results expire unevenly, reuses a run id after its record expired, deletes
// a run under a busy producer or busy workers, points inspection at another
// queue, restarts Redis without persistence, runs producer and workers with
// other prefixes — and what bitqueue must still say truthfully.

// TestDoneMarksVouchOnlyForLiveResults finishes a run in two pieces, the
// batches of one shard with results that expire in 2 s, those of the other
// with results kept for a minute. Once the short-lived results expire, the
// run is not done: status reports those batches lost (exit 1), list says
// running, results fails, and requeue enqueues them again, after which the
// run completes with every row. A result key deleted behind the run's back
// is found the same way, and a re-run enqueues its batch again.
func TestDoneMarksVouchOnlyForLiveResults(t *testing.T) {
	t.Parallel()
	needRedisServer(t, false)
	_, e := startFaultServer(t)
	const runID = "uneven"
	produceOK(t, e, "-count", "8000", "-batch-size", "1000", "-shards", "2", "-run-id", runID)

	short := map[uint64]bool{}
	for seq := range uint64(8) {
		if base.QueueOf(e.queue, 2, base.TaskID(runID, seq)) == e.queue+"-0" {
			short[seq] = true
		}
	}
	require.NotEmpty(t, short)
	require.Less(t, len(short), 8, "both shards hold batches")
	// One worker per shard queue: the first with short-lived results.
	for i, ttl := range []string{"2s", "1m"} {
		q := fmt.Sprintf("%s-%d", e.queue, i)
		w := spawnUntil(t, exec.Command(filepath.Join(bin, "worker"), "-redis", e.URL, "-queue", q, "-prefix", e.prefix, "-result-ttl", ttl), 30*time.Second, "msg=serving")
		redistest.WaitFor(t, time.Minute, "shard "+q+" drained", func() bool {
			info, err := e.inspector(t).GetQueueInfo(q)
			return err == nil && info.Size == 0
		})
		w.stop(t, syscall.SIGTERM)
	}
	ctx := context.Background()
	redistest.WaitFor(t, 30*time.Second, "the short-lived results expired", func() bool {
		for seq := range short {
			if n, err := e.Client.Exists(ctx, base.ResultKey(e.prefix, runID, seq)).Result(); err != nil || n != 0 {
				return false
			}
		}
		return true
	})

	st := inspectRun(t, e, "status", "-run-id", runID, "-json")
	require.Equal(t, 1, st.code, st.stderr)
	var s statusOf
	require.NoError(t, json.Unmarshal([]byte(st.stdout), &s))
	require.Equal(t, 8-len(short), s.Done, "done: the batches whose results live")
	require.Equal(t, len(short), s.Lost, "lost: the batches whose results expired")
	require.Contains(t, lastLine(st.stderr), "`producer requeue --run-id "+runID+"`")

	ls := inspectRun(t, e, "list", "-json")
	require.Equal(t, 0, ls.code, ls.stderr)
	require.Contains(t, ls.stdout, `"run_id":"`+runID+`"`)
	require.Contains(t, ls.stdout, `"state":"running"`, "list: not done once results are gone")

	res := inspectRun(t, e, "results", "-run-id", runID)
	require.Equal(t, 1, res.code, "results of an incomplete run")

	rq := inspectRun(t, e, "requeue", "-run-id", runID)
	require.Equal(t, 0, rq.code, rq.stderr)
	require.Contains(t, rq.stdout, fmt.Sprintf("enqueued %d lost batch(es) again", len(short)))
	w := startWorker(t, e, "-shards", "2")
	finishes(t, e, runID, 8, fixture.Integers(t, input.Random(base.SeedFor(runID), 8000, 1<<20)))

	// A result deleted behind the run's back: status calls its batch lost,
	// and a re-run enqueues it again.
	w.stop(t, syscall.SIGTERM)
	require.NoError(t, e.Client.Del(ctx, base.ResultKey(e.prefix, runID, 3)).Err())
	st = inspectRun(t, e, "status", "-run-id", runID)
	require.Equal(t, 1, st.code, st.stderr)
	require.Regexp(t, `lost +1: `+runID+`:3\n`, st.stdout)
	again := produce(t, e, "-count", "8000", "-batch-size", "1000", "-shards", "2", "-run-id", runID, "-json")
	require.Equal(t, 0, again.code, again.stderr)
	require.Contains(t, again.stdout, `"enqueued":1,"already_queued":0,"already_done":7`)
}

// TestRunIDReusedAfterRecordExpired runs A under an id whose record expires
// before its results; the same id given another input B afterwards starts
// afresh: B's batches are enqueued and converted, and results gives B's
// rows, never A's.
func TestRunIDReusedAfterRecordExpired(t *testing.T) {
	t.Parallel()
	needRedisServer(t, false)
	_, e := startFaultServer(t)
	const runID = "reuse1"
	a := writeInput(t, testNumbers(10))
	bNums := []uint64{101, 102, 103, 104, 105, 106, 107, 108, 109, 110}
	b := writeInput(t, bNums)
	r := produceOK(t, e, "-input", a, "-run-id", runID, "-record-ttl", "2s")
	w := startWorker(t, e, "-result-ttl", "1m")
	ctx := context.Background()
	redistest.WaitFor(t, time.Minute, "A's batch done", func() bool {
		n, err := e.Client.BitCount(ctx, base.DoneKey(e.prefix, runID), nil).Result()
		return err == nil && n == 1
	})
	w.stop(t, syscall.SIGTERM)
	redistest.WaitFor(t, 30*time.Second, "A's record expired", func() bool {
		n, err := e.Client.Exists(ctx, base.RecordKey(e.prefix, runID)).Result()
		return err == nil && n == 0
	})

	r = produceOK(t, e, "-input", b, "-run-id", runID, "-json")
	require.Contains(t, r.stdout, `"enqueued":1,"already_queued":0,"already_done":0`, "B starts afresh")
	startWorker(t, e)
	finishes(t, e, runID, 1, bNums)
}

// TestDeleteStopsAProducer deletes a run while its producer is still
// enqueueing it: the producer stops within a moment and exits 1 saying the
// run was deleted, and once delete is through no task of the run is left.
func TestDeleteStopsAProducer(t *testing.T) {
	t.Parallel()
	e := setup(t)
	const runID = "d6"
	bg := enqueueing(t, e, runID, 20000, 200)
	require.False(t, bg.exited(), "the producer still enqueues: %s", bg.stderr.String())

	del := inspectRun(t, e, "delete", "-run-id", runID)
	require.Equal(t, 0, del.code, del.stderr)
	r := bg.wait(t, time.Minute)
	require.Equal(t, 1, r.code, r.stderr)
	require.Contains(t, lastLine(r.stderr), "run "+runID+" was deleted (producer delete) while it was being enqueued")
	require.Contains(t, lastLine(r.stderr), "enqueueing stopped after")
	info := queueState(t, e)
	require.Zero(t, info.Size, "tasks of the deleted run left in the queue: %+v", info)
}

// TestDeleteWhileWorkersBusy deletes a run while a worker converts its
// batches at full speed, so that batches turn active, finish and vanish
// under delete: it neither fails nor stops on them. It exits 1 only when
// batches were active at its pass, listing them, with its JSON printed all
// the same; a second delete once the worker stopped exits 0 and leaves no
// task of the run.
func TestDeleteWhileWorkersBusy(t *testing.T) {
	t.Parallel()
	e := setup(t)
	const runID = "d7"
	produceOK(t, e, "-count", "400000", "-batch-size", "20", "-run-id", runID)
	// One loop: a worker at full speed, but not so fast that it drains the
	// run before delete's pass reaches its waiting batches.
	w := startWorker(t, e, "-concurrency", "16", "-loops", "1")
	redistest.WaitFor(t, time.Minute, "the worker busy", func() bool { return queueState(t, e).Processed > 200 })

	del := inspectRun(t, e, "delete", "-run-id", runID, "-json")
	require.Contains(t, []int{0, 1}, del.code, del.stderr)
	require.NotContains(t, del.stderr, "FAILED_PRECONDITION")
	var out struct {
		Tasks  int      `json:"tasks_deleted"`
		Active []string `json:"active"`
	}
	require.NoError(t, json.Unmarshal([]byte(del.stdout), &out), "JSON on stdout: %q", del.stdout)
	require.Positive(t, out.Tasks, "the run's waiting batches are deleted")
	if del.code == 1 {
		require.NotEmpty(t, out.Active, "exit 1 lists the active batches")
		require.Contains(t, lastLine(del.stderr), "still being processed")
	}

	w.stop(t, syscall.SIGTERM)
	again := inspectRun(t, e, "delete", "-run-id", runID)
	require.Equal(t, 0, again.code, again.stderr)
	require.Zero(t, queueState(t, e).Size, "no task of the run left")
}

// TestInspectionQueueMustBeTheRecords gives status and requeue a --queue
// (or BITQUEUE_RUN_QUEUE) that is not the run's: refused with exit 2,
// naming both, and nothing is enqueued anywhere.
func TestInspectionQueueMustBeTheRecords(t *testing.T) {
	t.Parallel()
	e := setup(t)
	const runID = "elsewhere"
	produceOK(t, e, "-count", "10", "-batch-size", "5", "-run-id", runID)
	for _, cmd := range []string{"status", "requeue"} {
		res := inspectRun(t, e, cmd, "-run-id", runID, "-queue", "other")
		require.Equal(t, 2, res.code, "%s --queue other: %s", cmd, res.stderr)
		require.Contains(t, lastLine(res.stderr), "--queue other: run "+runID+"'s batches are on queue "+e.queue)
		c := exec.Command(filepath.Join(bin, "producer"), cmd, "-redis", e.URL, "-prefix", e.prefix, "-run-id", runID)
		c.Env = append(c.Environ(), "BITQUEUE_RUN_QUEUE=other")
		res = runCmd(t, c)
		require.Equal(t, 2, res.code, "%s with BITQUEUE_RUN_QUEUE=other: %s", cmd, res.stderr)
		require.Contains(t, lastLine(res.stderr), "BITQUEUE_RUN_QUEUE=other: ")
	}
	info, err := e.inspector(t).GetQueueInfo("other")
	if err == nil {
		require.Zero(t, info.Size, "nothing enqueued on the other queue")
	}
	require.Equal(t, 2, queueState(t, e).Pending, "the run's own batches, once each")
}

// TestDeletedRunIsNotRepairable checks what each command says of a deleted
// run: status exits 1 saying so, with no requeue advice; requeue refuses it
// (exit 2) having enqueued nothing; results says it was deleted; and a
// producer waiting for the run when it is deleted exits 1 saying so.
func TestDeletedRunIsNotRepairable(t *testing.T) {
	t.Parallel()
	e := setup(t)
	const runID = "gone-run"
	bg := startProducer(t, e, "-count", "100", "-batch-size", "10", "-run-id", runID, "-wait", "-lost-after", "1s", "-timeout", "1m")
	redistest.WaitFor(t, time.Minute, "the run enqueued", func() bool { return strings.Contains(bg.stderr.String(), "msg=enqueued") })
	del := inspectRun(t, e, "delete", "-run-id", runID)
	require.Equal(t, 0, del.code, del.stderr)

	r := bg.wait(t, time.Minute)
	require.Equal(t, 1, r.code, r.stderr)
	require.Contains(t, lastLine(r.stderr), "run "+runID+" was deleted (producer delete) while it was waited for")
	require.NotContains(t, r.stderr, "requeue")

	st := inspectRun(t, e, "status", "-run-id", runID)
	require.Equal(t, 1, st.code, st.stderr)
	require.Regexp(t, `state +deleted\n`, st.stdout)
	require.Regexp(t, `lost +0\n`, st.stdout)
	require.Contains(t, lastLine(st.stderr), "run "+runID+" was deleted")
	require.NotContains(t, st.stderr, "requeue")

	rq := inspectRun(t, e, "requeue", "-run-id", runID)
	require.Equal(t, 2, rq.code, rq.stderr)
	require.Contains(t, lastLine(rq.stderr), "was deleted")
	require.NotContains(t, rq.stderr, "lost batches enqueued again")
	require.Zero(t, queueState(t, e).Size)

	res := inspectRun(t, e, "results", "-run-id", runID)
	require.Equal(t, 1, res.code, res.stderr)
	require.Contains(t, lastLine(res.stderr), "run "+runID+" was deleted")
	require.NotContains(t, res.stderr, "nothing enqueued")
}

// TestRecordLostWithRedisData restarts a Redis that keeps nothing on disk
// under a producer waiting for its run: the run's record is gone with the
// rest, and the producer says so (exit 1), rather than calling every batch
// lost and advising a requeue that cannot find the run.
func TestRecordLostWithRedisData(t *testing.T) {
	t.Parallel()
	needRedisServer(t, false)
	s, e := startFaultServer(t, "--save", "", "--appendonly", "no")
	const runID = "amnesia"
	bg := startProducer(t, e, "-count", "100", "-batch-size", "10", "-run-id", runID, "-wait", "-lost-after", "1s", "-timeout", "1m")
	redistest.WaitFor(t, time.Minute, "the run enqueued", func() bool { return strings.Contains(bg.stderr.String(), "msg=enqueued") })
	stopServer(t, s, syscall.SIGKILL)
	restartServer(t, s)

	r := bg.wait(t, time.Minute)
	require.Equal(t, 1, r.code, r.stderr)
	last := lastLine(r.stderr)
	require.Contains(t, last, "run "+runID+" has no record in Redis any more")
	require.Contains(t, last, "run the producer again with --run-id "+runID+" and the same input")
	require.NotContains(t, r.stderr, "lost (no result and no task)")
}

// TestPrefixMismatchIsNamed runs a producer and a worker with different
// --prefix: the batches are done, under the worker's prefix, and the
// producer's wait says where the results are instead of calling them lost.
func TestPrefixMismatchIsNamed(t *testing.T) {
	t.Parallel()
	e := setup(t)
	const runID = "misplaced"
	other := e.prefix + "-other"
	bg := startProducer(t, e, "-count", "30", "-batch-size", "10", "-run-id", runID, "-wait", "-lost-after", "2s", "-timeout", "1m")
	redistest.WaitFor(t, time.Minute, "the run enqueued", func() bool { return strings.Contains(bg.stderr.String(), "msg=enqueued") })
	startWorker(t, e, "-prefix", other)

	r := bg.wait(t, time.Minute)
	require.Equal(t, 1, r.code, r.stderr)
	last := lastLine(r.stderr)
	require.Contains(t, last, "its results are under prefix "+other)
	require.Contains(t, last, "the workers run with --prefix "+other)
	require.NotContains(t, r.stderr, "requeue")
	n, err := e.Client.BitCount(context.Background(), base.DoneKey(other, runID), nil).Result()
	require.NoError(t, err)
	require.EqualValues(t, 3, n, "every batch done under the worker's prefix")
}

// TestRequeueWakesIdleWorkers checks that batches enqueued again by requeue
// wake an idle worker, as a producer's do: the worker polls its empty queue
// every 30 s, yet the requeued batch is done within seconds.
func TestRequeueWakesIdleWorkers(t *testing.T) {
	t.Parallel()
	e := setup(t)
	const runID = "wake-requeue"
	produceOK(t, e, "-count", "30", "-batch-size", "10", "-run-id", runID)
	require.NoError(t, e.inspector(t).DeleteTask(e.queue, runID+":1")) // lost
	startWorker(t, e, "-poll-interval", "30s")
	redistest.WaitFor(t, time.Minute, "the other batches done", func() bool {
		n, err := e.Client.BitCount(context.Background(), base.DoneKey(e.prefix, runID), nil).Result()
		return err == nil && n == 2
	})
	time.Sleep(3 * time.Second) // the worker goes idle (after 2 s without a task)

	start := time.Now()
	rq := inspectRun(t, e, "requeue", "-run-id", runID)
	require.Equal(t, 0, rq.code, rq.stderr)
	redistest.WaitFor(t, 14*time.Second, "the requeued batch done", func() bool {
		n, err := e.Client.BitCount(context.Background(), base.DoneKey(e.prefix, runID), nil).Result()
		return err == nil && n == 3
	})
	t.Logf("requeued batch done %s after requeue began (idle polls are 15 s to 45 s apart)", time.Since(start).Round(time.Millisecond))
}

// TestInterruptedProducerNamesItsRun stops a producer with SIGTERM in the
// middle of enqueueing: it exits 1 naming the run and how to finish it.
func TestInterruptedProducerNamesItsRun(t *testing.T) {
	t.Parallel()
	e := setup(t)
	const runID = "halfway"
	bg := enqueueing(t, e, runID, 1000000, 100)
	require.NoError(t, bg.p.Signal(syscall.SIGTERM))
	r := bg.wait(t, time.Minute)
	require.Equal(t, 1, r.code, r.stderr)
	last := lastLine(r.stderr)
	require.Regexp(t, regexp.MustCompile(`run halfway: interrupted \(terminated signal received\) after [0-9]+ of its 1000000 batches were enqueued or found done; run the producer again with --run-id halfway and the same input to enqueue the rest`), last)
}
