package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/fixture"
	"bitqueue/internal/base"
	"bitqueue/internal/input"
	"bitqueue/redistest"
)

// loseBatch starts `producer --wait --lost-after 1s` with args (which name
// runID), deletes the task of batch seq before any worker took it, starts a
// worker, and returns the producer's result once it exits: 1, naming the
// lost batch, once the other batches are done.
func loseBatch(t *testing.T, e env, runID string, seq int, args ...string) result {
	t.Helper()
	bg := startProducer(t, e, append(args, "-run-id", runID, "-wait", "-timeout", "2m", "-lost-after", "1s")...)
	redistest.WaitFor(t, time.Minute, "the batches enqueued", func() bool { return strings.Contains(bg.stderr.String(), "msg=enqueued") })
	id := fmt.Sprintf("%s:%d", runID, seq)
	require.NoError(t, e.inspector(t).DeleteTask(e.queue, id))
	startWorker(t, e)
	r := bg.wait(t, time.Minute)
	require.Equal(t, 1, r.code, r.stderr)
	require.Contains(t, lastLine(r.stderr), "run "+runID+": 1 batch(es) lost (no result and no task): "+id+";")
	return r
}

// finishes waits until a worker has done every batch of runID, then checks
// that `producer status` exits 0 and `producer results` gives a row for
// every integer of nums, in order.
func finishes(t *testing.T, e env, runID string, batches int, nums []uint64) {
	t.Helper()
	redistest.WaitFor(t, time.Minute, "every batch of "+runID+" done", func() bool {
		n, err := e.Client.BitCount(context.Background(), base.DoneKey(e.prefix, runID), nil).Result()
		return err == nil && int(n) == batches
	})
	st := inspectRun(t, e, "status", "-run-id", runID)
	require.Equal(t, 0, st.code, st.stderr)
	require.Regexp(t, fmt.Sprintf(`done +%d\n`, batches), st.stdout)
	require.Regexp(t, `lost +0\n`, st.stdout)
	out := filepath.Join(t.TempDir(), "rows.tsv")
	res := inspectRun(t, e, "results", "-run-id", runID, "-out", out)
	require.Equal(t, 0, res.code, res.stderr)
	checkOut(t, out, nums)
}

// TestRequeueLostRandomRun loses a batch of a random run: --wait exits 1
// naming it and pointing at requeue; status reports it lost; `producer
// requeue --run-id` alone draws its integers again from the recorded seed
// and enqueues it, and the run completes with every row.
func TestRequeueLostRandomRun(t *testing.T) {
	t.Parallel()
	e := setup(t)
	const runID = "lossy"
	r := loseBatch(t, e, runID, 2, "-count", "50", "-batch-size", "10")
	require.Contains(t, lastLine(r.stderr), "`producer requeue --run-id lossy` enqueues them again")

	st := inspectRun(t, e, "status", "-run-id", runID)
	require.Equal(t, 1, st.code, st.stderr)
	require.Regexp(t, `done +4\n`, st.stdout)
	require.Regexp(t, `lost +1: lossy:2\n`, st.stdout)
	require.Contains(t, lastLine(st.stderr), "`producer requeue --run-id lossy` enqueues them again")

	rq := inspectRun(t, e, "requeue", "-run-id", runID)
	require.Equal(t, 0, rq.code, rq.stderr)
	require.Equal(t, "run lossy: enqueued 1 lost batch(es) again on queue "+e.queue+": lossy:2\n", rq.stdout)

	src := input.Random(base.SeedFor(runID), 50, 1<<20)
	finishes(t, e, runID, 5, fixture.Integers(t, src))
	rq = inspectRun(t, e, "requeue", "-run-id", runID)
	require.Equal(t, 0, rq.code, rq.stderr)
	require.Equal(t, "run lossy: no failed or lost batches to requeue\n", rq.stdout)
}

// TestRequeueLostFileRun loses a batch of a run of a file: --wait exits 1
// pointing at requeue with the file; requeue without --input exits 1 saying
// how many are lost and that the run's input is needed, with another file
// exits 2 naming both hashes and enqueues nothing, with the run's own file
// enqueues exactly the lost batch, and the run completes with every row.
func TestRequeueLostFileRun(t *testing.T) {
	t.Parallel()
	e := setup(t)
	const runID = "lossy-file"
	nums := testNumbers(40)
	in := writeInput(t, nums)
	r := loseBatch(t, e, runID, 1, "-input", in, "-batch-size", "10")
	require.Contains(t, lastLine(r.stderr), "`producer requeue --run-id lossy-file --input "+in+"` enqueues them again")

	rq := inspectRun(t, e, "requeue", "-run-id", runID)
	require.Equal(t, 1, rq.code, rq.stderr)
	require.Contains(t, lastLine(rq.stderr), "run lossy-file: 1 batch(es) lost and not enqueued again: their integers are only in the run's input; `producer requeue --run-id lossy-file --input FILE` enqueues them again")

	other := writeInput(t, append(testNumbers(39), 7))
	b, err := os.ReadFile(other)
	require.NoError(t, err)
	sum := sha256.Sum256(b)
	recorded, err := e.Client.HGet(context.Background(), base.RecordKey(e.prefix, runID), "input").Result()
	require.NoError(t, err)
	rq = inspectRun(t, e, "requeue", "-run-id", runID, "-input", other)
	require.Equal(t, 2, rq.code, rq.stderr)
	last := lastLine(rq.stderr)
	require.Contains(t, last, "sha256:"+hex.EncodeToString(sum[:]))
	require.Contains(t, last, recorded)
	require.Contains(t, last, "give the run's own input")
	_, err = e.inspector(t).GetTaskInfo(e.queue, runID+":1")
	require.Error(t, err, "nothing enqueued from another file")

	rq = inspectRun(t, e, "requeue", "-run-id", runID, "-input", in, "-json")
	require.Equal(t, 0, rq.code, rq.stderr)
	require.JSONEq(t, fmt.Sprintf(`{"run_id":%q,"queue":%q,"requeued":[],"lost":1,"enqueued_lost":["lossy-file:1"]}`, runID, e.queue), rq.stdout)
	finishes(t, e, runID, 4, nums)
}
