package e2e

import (
	"net/url"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"bitqueue/redistest"
)

// Tests of a worker's dequeue loops (worker --loops): a worker runs one
// asynq server per running loop, the loops beyond the first only while its
// queues hold a backlog.

// loopServers returns the asynq servers worker process p runs on e: one per
// running loop.
func loopServers(t *testing.T, e env, p *proc) []*asynq.ServerInfo {
	t.Helper()
	all, err := e.inspector(t).Servers()
	require.NoError(t, err)
	var mine []*asynq.ServerInfo
	for _, s := range all {
		if s.PID == p.Pid() {
			mine = append(mine, s)
		}
	}
	return mine
}

// TestWorkerLoopsDrainARun: one worker of up to four loops takes a run of
// 10,000 batches with several loops at once, on one cache built once; the
// exporter and `producer status` count it as one worker all the while;
// every result is right; idle again, it runs one loop.
func TestWorkerLoopsDrainARun(t *testing.T) {
	t.Parallel()
	e := setup(t)
	const runID, batch = "loops", 10
	nums := testNumbers(100_000)
	in := writeInput(t, nums)
	out := filepath.Join(t.TempDir(), "out.tsv")
	w := startWorker(t, e, "-loops", "4", "-concurrency", "2", "-cache-bits", "16")
	exporter := startExporter(t, e)

	run := startProducer(t, e, "-input", in, "-batch-size", strconv.Itoa(batch), "-run-id", runID, "-wait", "-timeout", "5m", "-out", out)
	redistest.WaitFor(t, time.Minute, "the worker to run several loops", func() bool { return len(loopServers(t, e, w)) > 1 })
	loops := len(loopServers(t, e, w))
	exported := sample(t, scrape(t, exporter), "bitqueue_workers")
	st, code := statusJSON(t, e, runID)
	require.Equal(t, 0, code)
	after := len(loopServers(t, e, w))
	t.Logf("%d, then %d loops running; the exporter counts %v workers, producer status %d", loops, after, exported, st.Totals.Workers)
	require.Greater(t, after, 1, "the loops stopped while the counts were read: make the run longer")
	require.Equal(t, float64(1), exported, "the exporter's bitqueue_workers counts processes, not loops")
	require.Equal(t, 1, st.Totals.Workers, "producer status counts processes, not loops")

	r := run.wait(t, 5*time.Minute)
	require.Equal(t, 0, r.code, r.stderr)
	checkOut(t, out, nums)
	checkResults(t, e, runID, nums, batch)
	require.Equal(t, 1, countLines(w.Logs(), "msg=\"cache built\""), "the cache is built once per process")
	redistest.WaitFor(t, 30*time.Second, "the loops beyond the first to stop once idle", func() bool { return len(loopServers(t, e, w)) == 1 })
}

// TestWorkerLoopsGracefulDrain: SIGTERM to a worker running several loops in
// the middle of a run: it exits 0 within its shutdown timeout, every loop's
// batches finished or handed back (none left active, none failed), its
// servers gone from Redis; a restarted worker finishes the run without
// waiting for any lease.
func TestWorkerLoopsGracefulDrain(t *testing.T) {
	t.Parallel()
	e := setup(t)
	const runID, batch, shutdown = "loopsdrain", 10, 5 * time.Second
	nums := testNumbers(300_000) // 30,000 batches: a backlog is left at SIGTERM
	in := writeInput(t, nums)
	args := []string{"-loops", "4", "-concurrency", "2", "-cache-bits", "16", "-shutdown-timeout", shutdown.String()}
	w := startWorker(t, e, args...)
	r := produce(t, e, "-input", in, "-batch-size", strconv.Itoa(batch), "-run-id", runID)
	require.Equal(t, 0, r.code, r.stderr)
	redistest.WaitFor(t, time.Minute, "the run under way on several loops", func() bool {
		info := queueState(t, e)
		return len(loopServers(t, e, w)) > 1 && info.Processed >= 1000 && info.Pending >= 10_000
	})

	loops := len(loopServers(t, e, w))
	sent := time.Now()
	require.NoError(t, w.Signal(syscall.SIGTERM))
	require.Equal(t, 0, w.exitCode(t, shutdown+30*time.Second), "exit code after SIGTERM")
	took := time.Since(sent)
	require.Less(t, took, shutdown+3*time.Second, "the worker exited %s after SIGTERM: its loops did not stop together", took)
	require.Contains(t, w.Logs(), "shutdown done")
	info := queueState(t, e)
	t.Logf("%d loops stopped within %s of SIGTERM; %d batches processed, %d pending", loops, took.Round(time.Millisecond), info.Processed, info.Pending)
	require.Zero(t, info.Active, "batches left active: neither finished nor handed back")
	require.Positive(t, info.Pending, "batches left for the restarted worker")
	require.Zero(t, info.Retry+info.Archived, "batches failed by the drain")
	require.Empty(t, loopServers(t, e, w), "servers of the stopped worker still registered")

	// Every batch has its result or its task: re-running the run finds
	// nothing to enqueue.
	r = produce(t, e, "-input", in, "-batch-size", strconv.Itoa(batch), "-run-id", runID)
	require.Equal(t, 0, r.code, r.stderr)
	st := enqueueStats(t, r.stderr)
	require.Zero(t, st.Enqueued, "batches lost by the drain and enqueued again")
	require.Equal(t, info.Pending, st.Queued, "batches found queued")

	startWorker(t, e, args...)
	out := filepath.Join(t.TempDir(), "out.tsv")
	r = produce(t, e, "-input", in, "-batch-size", strconv.Itoa(batch), "-run-id", runID, "-wait", "-timeout", "3m", "-out", out)
	require.Equal(t, 0, r.code, r.stderr)
	checkOut(t, out, nums)
	checkResults(t, e, runID, nums, batch)
	redistest.WaitFor(t, 10*time.Second, "the queue to drain", func() bool { return queueState(t, e).Size == 0 })
}

// TestWorkerLoopsKilled: a worker SIGKILLed while several of its loops hold
// batches loses none: each loop's batches stay under that loop's asynq
// lease until the recoverer hands them out again, and the run completes
// with every result right and each batch once.
func TestWorkerLoopsKilled(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("waits for asynq's lease expiry (1-2 minutes); run without -short")
	}
	e := setup(t)
	const runID, batch = "loopskill", 10
	nums := testNumbers(200_000) // 20,000 batches: the run outlasts a few heartbeats
	in := writeInput(t, nums)
	victim := startWorker(t, e, "-loops", "4", "-concurrency", "2", "-cache-bits", "16")
	r := produce(t, e, "-input", in, "-batch-size", strconv.Itoa(batch), "-run-id", runID)
	require.Equal(t, 0, r.code, r.stderr)

	// Kill it once at least two of its loops hold batches: more batches
	// active than one loop's concurrency. (asynq's heartbeat lists a
	// server's batches only every 5 s, and these last a millisecond.)
	redistest.WaitFor(t, time.Minute, "two loops holding batches", func() bool {
		info := queueState(t, e)
		return info.Active > 2 && info.Pending > 0
	})
	loops := len(loopServers(t, e, victim))
	victim.kill(t)
	info := queueState(t, e)
	require.Positive(t, info.Active, "batches held by the killed worker")
	t.Logf("killed a worker of %d loops holding %d batches; %d pending", loops, info.Active, info.Pending)

	startWorker(t, e, "-loops", "4", "-cache-bits", "16")
	startWorker(t, e, "-loops", "4", "-cache-bits", "16")
	out := filepath.Join(t.TempDir(), "out.tsv")
	start := time.Now()
	run := startProducer(t, e, "-input", in, "-batch-size", strconv.Itoa(batch), "-run-id", runID, "-wait", "-timeout", "4m", "-out", out)
	recoverOrphans(t, e, "-cache-bits", "16")
	r = run.wait(t, 4*time.Minute)
	require.Equal(t, 0, r.code, r.stderr)
	t.Logf("run completed %s after the kill", time.Since(start).Round(time.Second))
	checkOut(t, out, nums)
	checkResults(t, e, runID, nums, batch)
	st, code := statusJSON(t, e, runID)
	require.Equal(t, 0, code)
	require.Equal(t, len(nums)/batch, st.Done, "batches marked done, each once")
	redistest.WaitFor(t, 3*time.Minute, "the queue to drain", func() bool { return queueState(t, e).Size == 0 })
}

// TestWorkerLoopsBeatRoundTrips: behind 4 ms of added round-trip time, a
// worker of one loop takes its batches one round trip at a time; one of
// eight loops takes the same batches several times faster.
//
// It does not run in parallel with the package's other tests: on a loaded
// machine both workers' pace is the CPU's, not the round trips'.
func TestWorkerLoopsBeatRoundTrips(t *testing.T) {
	e := setup(t)
	u, err := url.Parse(e.URL)
	require.NoError(t, err)
	proxy, err := redistest.NewLatencyProxy(u.Host, 4*time.Millisecond)
	require.NoError(t, err)
	t.Cleanup(proxy.Close)
	u.Host = proxy.Addr()
	const batches = 300

	// drain enqueues a run of its own, then starts a worker with loops
	// behind the proxy and returns how long it takes to drain the queue.
	drain := func(runID string, loops int) time.Duration {
		r := produce(t, e, "-count", strconv.Itoa(10*batches), "-batch-size", "10", "-run-id", runID)
		require.Equal(t, 0, r.code, r.stderr)
		w := startWorker(t, e, "-redis", u.String(), "-loops", strconv.Itoa(loops), "-cache-bits", "16")
		start := time.Now()
		redistest.WaitFor(t, 2*time.Minute, "the run drained", func() bool { return queueState(t, e).Size == 0 })
		took := time.Since(start)
		require.Equal(t, 0, w.stop(t, syscall.SIGTERM))
		return took
	}
	one := drain("oneloop", 1)
	eight := drain("eightloops", 8)
	ratio := float64(one) / float64(eight)
	t.Logf("%d batches behind 4 ms: one loop %s, eight loops %s: %.1f × faster", batches, one.Round(time.Millisecond), eight.Round(time.Millisecond), ratio)
	// Up to eight times faster; about five alone under -race on two cores.
	require.GreaterOrEqual(t, ratio, 2.0, "eight loops were not much faster than one behind the added round trips")
}
