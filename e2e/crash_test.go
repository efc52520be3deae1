package e2e

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/redistest"
)

// A worker killed with SIGKILL in the middle of a run loses no batch: asynq
// hands its batches to another worker once their lease expires (30 s, checked
// by a recoverer once a minute), and the results come out right.
func TestWorkerKilledMidRun(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("waits for asynq's lease expiry (1-2 minutes); run without -short")
	}
	e := setup(t)
	nums := testNumbers(400_000)
	in := writeInput(t, nums)
	const runID = "crash-run"

	// The whole run is enqueued first: a worker with its loops keeps up
	// with the producer, so that no batch would wait otherwise.
	r := produce(t, e, "-input", in, "-batch-size", "200", "-run-id", runID)
	require.Equal(t, 0, r.code, r.stderr)
	victim := startWorker(t, e)

	// Kill the only worker while it holds batches.
	insp := e.inspector(t)
	redistest.WaitFor(t, time.Minute, "batches in flight", func() bool {
		info, err := insp.GetQueueInfo(e.queue)
		return err == nil && info.Active > 0 && info.Pending > 0
	})
	victim.kill(t)
	info, err := insp.GetQueueInfo(e.queue)
	require.NoError(t, err)
	orphans := info.Active
	require.Positive(t, orphans, "batches held by the killed worker")
	t.Logf("killed worker held %d batches; %d pending", orphans, info.Pending)

	// Restart it, with company; the run completes, orphans included. A
	// batch whose result the killed worker saved, but whose task it never
	// marked done, is redelivered once its lease expires, and written again
	// to the same value.
	startWorker(t, e)
	startWorker(t, e)
	out := filepath.Join(t.TempDir(), "out.tsv")
	start := time.Now()
	run := startProducer(t, e, "-input", in, "-batch-size", "200", "-run-id", runID, "-wait", "-timeout", "4m", "-out", out)
	recoverOrphans(t, e, "-cache-bits", "16")
	r = run.wait(t, 4*time.Minute)
	require.Equal(t, 0, r.code, r.stderr)
	t.Logf("run completed %s after the kill", time.Since(start).Round(time.Second))
	checkOut(t, out, nums)
	redistest.WaitFor(t, 3*time.Minute, "the queue to drain", func() bool { return queueState(t, e).Size == 0 })
}
