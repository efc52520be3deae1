package e2e

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A worker killed with SIGKILL in the middle of a run loses no batch: asynq
// hands its batches to another worker once their lease expires (30 s, checked
// by a recoverer once a minute), and the results come out right.
func TestWorkerKilledMidRun(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for asynq's lease expiry (1-2 minutes); run without -short")
	}
	e := setup(t)
	nums := testNumbers(400_000)
	in := writeInput(t, nums)
	const runID = "crash-run"

	victim := startWorker(t, e)
	r := produce(t, e, "-input", in, "-batch-size", "200", "-run-id", runID)
	require.Equal(t, 0, r.code, r.stderr)

	// Kill the only worker while it holds batches.
	insp := e.inspector(t)
	waitFor(t, time.Minute, "batches in flight", func() bool {
		info, err := insp.GetQueueInfo(e.queue)
		return err == nil && info.Active > 0 && info.Pending > 0
	})
	require.NoError(t, victim.cmd.Process.Signal(syscall.SIGKILL))
	<-victim.done
	victim.done <- nil
	info, err := insp.GetQueueInfo(e.queue)
	require.NoError(t, err)
	orphans := info.Active
	require.Positive(t, orphans, "batches held by the killed worker")
	t.Logf("killed worker held %d batches; %d pending", orphans, info.Pending)

	// Restart it, with company; the run completes, orphans included.
	startWorker(t, e)
	startWorker(t, e)
	out := filepath.Join(t.TempDir(), "out.tsv")
	start := time.Now()
	r = produce(t, e, "-input", in, "-batch-size", "200", "-run-id", runID, "-wait", "-timeout", "4m", "-out", out)
	require.Equal(t, 0, r.code, r.stderr)
	t.Logf("run completed %s after the kill", time.Since(start).Round(time.Second))
	checkOut(t, out, nums)
	// A batch whose result the killed worker saved, but whose task it never
	// marked done, is redelivered once its lease expires, and written again
	// to the same value.
	waitFor(t, 3*time.Minute, "the queue to drain", func() bool {
		info, err := insp.GetQueueInfo(e.queue)
		return err == nil && info.Size == 0
	})
}
