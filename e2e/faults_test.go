package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/base"
	"bitqueue/internal/rdb"
	"bitqueue/internal/runs"
	"bitqueue/redistest"
)

// Fault tests: each starts a redis-server of its own (see startFaultServer), real
// worker processes and the real producer, runs at least 200 batches through
// a fault, and at the end checks every result against strconv.FormatInt,
// with no batch missing and no key holding a wrong value. They run in
// parallel with each other; the slow ones wait for asynq's 30 s task lease
// and are skipped under -short.

// withArgs returns the arguments of the worker processes of the fault tests
// (a small cache for fast restarts, no per-batch log lines) followed by
// more.
func withArgs(more ...string) []string {
	return append([]string{"-concurrency", "4", "-cache-bits", "16", "-log-level", "info"}, more...)
}

// Worker crash storm: three workers, one of them SIGKILLed and restarted as
// soon as the fleet has made progress since the last kill, while the run is
// processed. No batch is lost: the batches a killed worker held stay active
// under its lease until asynq's recoverer hands them out again (the lease is
// 30 s, the recoverer runs once a minute and takes leases expired for 30 s,
// and worker.RetryDelay retries them at once), so the run completes one to
// two minutes after the last kill.
func TestFaultWorkerCrashStorm(t *testing.T) {
	needRedisServer(t, true)
	t.Parallel()
	_, e := startFaultServer(t)
	const runID, batch = "storm", 10
	nums := testNumbers(200_000) // 20,000 batches
	in := writeInput(t, nums)
	out := filepath.Join(t.TempDir(), "out.tsv")

	workers := make([]*proc, 3)
	for i := range workers {
		workers[i] = startWorker(t, e, withArgs()...)
	}
	run := startProducer(t, e, "-input", in, "-batch-size", strconv.Itoa(batch), "-run-id", runID, "-wait", "-timeout", "5m", "-out", out)
	redistest.WaitFor(t, time.Minute, "batches in the queue", func() bool { return queueState(t, e).Size > 0 })

	// The storm lasts while batches wait to be taken: at least 10 kills,
	// at most 20, each once the fleet has converted more batches since the
	// one before, so that every kill hits a worker at work.
	stormStart := time.Now()
	kills := 0
	for ; kills < 20; kills++ {
		info := queueState(t, e)
		if kills >= 10 && info.Pending == 0 && run.stderr.Contains("msg=enqueued") {
			break
		}
		i := kills % len(workers)
		workers[i].kill(t)
		workers[i] = startWorker(t, e, withArgs()...)
		redistest.WaitFor(t, time.Minute, "progress since the last kill", func() bool {
			now := queueState(t, e)
			return now.Processed > info.Processed || (now.Pending == 0 && run.stderr.Contains("msg=enqueued"))
		})
	}
	lastKill := time.Now()
	// Drain the live workers (SIGTERM: each finishes or hands back what it
	// holds, as TestFaultGracefulDrain shows): what stays active is held by
	// dead workers' leases alone.
	for _, w := range workers {
		require.Equal(t, 0, w.stop(t, syscall.SIGTERM), "exit code after SIGTERM")
	}
	orphans := queueState(t, e).Active
	t.Logf("storm: %d SIGKILLs in %s; %d batches left active under dead workers' leases", kills, lastKill.Sub(stormStart).Round(time.Millisecond), orphans)
	require.Positive(t, orphans, "no kill caught a worker holding a batch: the storm tested nothing")
	for range workers {
		startWorker(t, e, withArgs()...)
	}
	recoverOrphans(t, e, withArgs()...)

	res := run.wait(t, 5*time.Minute)
	recovery := time.Since(lastKill)
	require.Equal(t, 0, res.code, res.stderr)
	t.Logf("run complete %s after the last kill (asynq's 30 s lease and once-a-minute recoverer decide this)", recovery.Round(time.Second))
	checkOut(t, out, nums)
	checkResults(t, e, runID, nums, batch)
	waitDrained(t, e)
	require.Zero(t, queueState(t, e).Archived, "archived tasks")
}

// waitDrained waits until e's queue holds no task in any state. A task whose
// result was saved but whose completion never reached Redis (its worker
// killed, or Redis gone, in between) stays active under a lease nobody
// extends until asynq's recoverer hands it out again (see recoverOrphans):
// the run is complete before that, the queue drains after.
func waitDrained(t *testing.T, e env) {
	t.Helper()
	recoverOrphans(t, e, withArgs()...)
	redistest.WaitFor(t, 3*time.Minute, "the queue to drain", func() bool { return queueState(t, e).Size == 0 })
}

// Graceful drain: SIGTERM to every worker in the middle of a run. Each exits
// 0 within its shutdown timeout, leaving no batch active (each finished or
// handed back), and restarted workers finish the run without waiting for any
// lease.
func TestFaultGracefulDrain(t *testing.T) {
	needRedisServer(t, false)
	t.Parallel()
	_, e := startFaultServer(t)
	const runID, batch, shutdown = "drain", 10, 5 * time.Second
	nums := testNumbers(200_000)
	in := writeInput(t, nums)
	args := withArgs("-shutdown-timeout", shutdown.String())
	// The whole run is enqueued first: a fleet of workers with their loops
	// keeps up with the producer, so that no batch would wait otherwise.
	r := produceOK(t, e, "-input", in, "-batch-size", strconv.Itoa(batch), "-run-id", runID)
	workers := make([]*proc, 3)
	for i := range workers {
		workers[i] = startWorker(t, e, args...)
	}
	redistest.WaitFor(t, time.Minute, "the run under way", func() bool {
		info := queueState(t, e)
		return info.Processed >= 1000 && info.Pending > 0
	})

	sent := time.Now()
	for _, w := range workers {
		require.NoError(t, w.Signal(syscall.SIGTERM))
	}
	for _, w := range workers {
		code := w.exitCode(t, shutdown+30*time.Second)
		took := time.Since(sent)
		require.Equal(t, 0, code, "exit code after SIGTERM")
		// The timeout bounds the wait for in-flight batches; stopping
		// asynq's other goroutines takes a moment more on a busy machine.
		require.Less(t, took, shutdown+3*time.Second, "worker %d exited %s after SIGTERM", w.Pid(), took)
		require.Contains(t, w.Logs(), "shutdown done")
	}
	info := queueState(t, e)
	t.Logf("all workers exited within %s of SIGTERM; %d batches processed, %d pending", time.Since(sent).Round(time.Millisecond), info.Processed, info.Pending)
	require.Zero(t, info.Active, "batches left active: neither finished nor handed back")
	require.Positive(t, info.Pending, "batches left for the restarted workers")
	require.Zero(t, info.Retry+info.Archived, "batches failed by the drain")

	// Every batch has its result or its task: re-running the run finds
	// nothing to enqueue.
	r = produceOK(t, e, "-input", in, "-batch-size", strconv.Itoa(batch), "-run-id", runID)
	st := enqueueStats(t, r.stderr)
	require.Zero(t, st.Enqueued, "batches lost by the drain and enqueued again")
	require.Equal(t, info.Pending, st.Queued, "batches found queued")

	for range workers {
		startWorker(t, e, args...)
	}
	restarted := time.Now()
	out := filepath.Join(t.TempDir(), "out.tsv")
	r = produceOK(t, e, "-input", in, "-batch-size", strconv.Itoa(batch), "-run-id", runID, "-wait", "-timeout", "3m", "-out", out)
	t.Logf("restarted workers finished the run in %s", time.Since(restarted).Round(time.Millisecond))
	checkOut(t, out, nums)
	checkResults(t, e, runID, nums, batch)
	// Nothing was orphaned: the last completions land within moments.
	redistest.WaitFor(t, 10*time.Second, "the queue to drain", func() bool { return queueState(t, e).Size == 0 })
}

// Graceful drain of batches that outlast the shutdown timeout: they are
// cancelled and handed back to the queue, not cut into a partial result, and
// the workers still exit 0 on time.
func TestFaultGracefulDrainHandsBackSlowBatches(t *testing.T) {
	needRedisServer(t, false)
	t.Parallel()
	_, e := startFaultServer(t)
	const runID, batch, shutdown = "slowdrain", 10, time.Second
	nums := testNumbers(2000) // 200 batches
	in := writeInput(t, nums)
	slow := []*proc{
		startSlowWorker(t, e, "-delay", "1h", "-concurrency", "4", "-shutdown-timeout", shutdown.String()),
		startSlowWorker(t, e, "-delay", "1h", "-concurrency", "4", "-shutdown-timeout", shutdown.String()),
	}
	produceOK(t, e, "-input", in, "-batch-size", strconv.Itoa(batch), "-run-id", runID)
	redistest.WaitFor(t, 30*time.Second, "both workers stuck on 4 batches each", func() bool { return queueState(t, e).Active == 8 })

	sent := time.Now()
	for _, w := range slow {
		require.NoError(t, w.Signal(syscall.SIGTERM))
	}
	for _, w := range slow {
		require.Equal(t, 0, w.exitCode(t, 30*time.Second), "exit code after SIGTERM")
		took := time.Since(sent)
		require.Less(t, took, shutdown+3*time.Second, "worker %d exited %s after SIGTERM", w.Pid(), took)
	}
	info := queueState(t, e)
	require.Zero(t, info.Active, "batches left active")
	require.Equal(t, 200, info.Pending, "every batch back in the queue")
	keys, err := e.Client.Keys(context.Background(), e.prefix+":result:"+runID+":*").Result()
	require.NoError(t, err)
	require.Empty(t, keys, "results written by cancelled batches")

	startWorker(t, e, withArgs()...)
	startWorker(t, e, withArgs()...)
	out := filepath.Join(t.TempDir(), "out.tsv")
	produceOK(t, e, "-input", in, "-batch-size", strconv.Itoa(batch), "-run-id", runID, "-wait", "-timeout", "2m", "-out", out)
	checkOut(t, out, nums)
	checkResults(t, e, runID, nums, batch)
}

// Redis stopped (SIGTERM, append-only file) and restarted twice: once while
// the producer enqueues, once while workers process and the producer waits.
// The producer rides out both with bounded backoff, logging one line when
// each outage begins and one when it ends; the workers reconnect by
// themselves; the run completes.
func TestFaultRedisRestart(t *testing.T) {
	needRedisServer(t, true)
	t.Parallel()
	s, e := startFaultServer(t, "--appendonly", "yes")
	const runID, batch = "restart", 4
	nums := testNumbers(100_000) // 25,000 batches
	batches := len(nums) / batch
	in := writeInput(t, nums)

	// 1. During the enqueue.
	enq := startProducer(t, e, "-input", in, "-batch-size", strconv.Itoa(batch), "-run-id", runID, "-concurrency", "2", "-redis-wait", "1m")
	redistest.WaitFor(t, time.Minute, "the enqueue under way", func() bool { return queueState(t, e).Size >= 3000 })
	require.False(t, enq.stderr.Contains("msg=enqueued"), "the enqueue ended before Redis stopped; make the run longer")
	stopServer(t, s, syscall.SIGTERM)
	redistest.WaitFor(t, 30*time.Second, "the producer to meet the outage", func() bool { return enq.stderr.Contains(outageBegan) })
	restartServer(t, s)
	r := enq.wait(t, 2*time.Minute)
	require.Equal(t, 0, r.code, r.stderr)
	st := enqueueStats(t, r.stderr)
	require.Equal(t, batches, st.Enqueued+st.Queued, "batches enqueued")
	requireOutagesLogged(t, r.stderr)
	require.Equal(t, batches, queueState(t, e).Pending, "tasks in the queue after the restart")

	// 2. While workers process and the producer waits.
	workers := []*proc{startWorker(t, e, withArgs()...), startWorker(t, e, withArgs()...), startWorker(t, e, withArgs()...)}
	out := filepath.Join(t.TempDir(), "out.tsv")
	wait := startProducer(t, e, "-input", in, "-batch-size", strconv.Itoa(batch), "-run-id", runID, "-wait", "-timeout", "5m", "-out", out, "-redis-wait", "1m")
	redistest.WaitFor(t, time.Minute, "the run under way", func() bool {
		info := queueState(t, e)
		return info.Processed >= 1000 && info.Pending > 0
	})
	stopServer(t, s, syscall.SIGTERM)
	redistest.WaitFor(t, 30*time.Second, "the producer to meet the outage", func() bool {
		return wait.stderr.Contains(outageBegan)
	})
	restartServer(t, s)
	back := time.Now()
	// What the restart left behind, once the workers have caught up.
	waitProgress(t, e, 300)
	active, leased, expired := leases(t, e)
	t.Logf("%s after the restart, 300 more batches done: %d batches active, %d with a lease (%d expired), %d without",
		time.Since(back).Round(time.Millisecond), active, leased, expired, active-leased)
	require.Equal(t, active, leased, "batches active without a lease: asynq would never recover them")
	recoverOrphans(t, e, withArgs()...)
	r = wait.wait(t, 5*time.Minute)
	require.Equal(t, 0, r.code, r.stderr)
	t.Logf("run complete and batches orphaned by the restart recovered %s after Redis came back", time.Since(back).Round(time.Millisecond))
	requireOutagesLogged(t, r.stderr)
	for _, w := range workers {
		require.True(t, w.alive(), "worker %d exited:\n%s", w.Pid(), redistest.Tail(w.Logs(), 20))
	}
	checkOut(t, out, nums)
	checkResults(t, e, runID, nums, batch)
	waitDrained(t, e)
}

// requireOutagesLogged checks that a producer logged the outage it rode out:
// each outage once when it began and once when it ended. Enqueues in flight
// on several connections can see one restart as two short outages.
func requireOutagesLogged(t *testing.T, stderr string) {
	t.Helper()
	began := countLines(stderr, outageBegan)
	require.GreaterOrEqual(t, began, 1, stderr)
	require.LessOrEqual(t, began, 3, stderr)
	require.Equal(t, began, countLines(stderr, "redis reachable again"), stderr)
}

// Redis killed with SIGKILL mid-run and restarted from its append-only file
// (appendfsync everysec). The test measures what was lost (batches with
// neither a result nor a task), then shows that re-running the producer with
// the same run id enqueues exactly the lost batches and completes the run,
// and that no batch that had its result was converted again because of the
// re-run.
func TestFaultRedisKilled(t *testing.T) {
	needRedisServer(t, true)
	t.Parallel()
	s, e := startFaultServer(t, "--appendonly", "yes", "--appendfsync", "everysec")
	const runID, batch = "killed", 5
	nums := testNumbers(100_000) // 20,000 batches
	batches := len(nums) / batch
	in := writeInput(t, nums)
	debug := withArgs("-log-level", "debug")
	// The whole run is enqueued first: a fleet of workers with their loops
	// keeps up with the producer, so that no batch would wait otherwise.
	r := produceOK(t, e, "-input", in, "-batch-size", strconv.Itoa(batch), "-run-id", runID)
	workers := []*proc{startWorker(t, e, debug...), startWorker(t, e, debug...), startWorker(t, e, debug...)}
	redistest.WaitFor(t, time.Minute, "the run under way", func() bool {
		info := queueState(t, e)
		return info.Processed >= 1000 && info.Pending > 0
	})
	stopServer(t, s, syscall.SIGKILL)
	redistest.WaitFor(t, 30*time.Second, "a worker to meet the outage", func() bool {
		return anyLogged(workers, outageBegan) || anyLogged(workers, asynqDequeueError)
	})
	restartServer(t, s)

	// The workers carry on; then they are drained so that the accounting
	// below is exact.
	waitProgress(t, e, 300)
	for _, w := range workers {
		require.Equal(t, 0, w.stop(t, syscall.SIGTERM), "worker exit code")
	}
	done, queued := survivors(t, e, runID, batches)
	var lost []int
	for seq := range batches {
		if !done[seq] && !queued[seq] {
			lost = append(lost, seq)
		}
	}
	both := 0
	for seq := range queued {
		if done[seq] {
			both++
		}
	}
	t.Logf("after SIGKILL and restart: %d batches have results, %d tasks survived (%d of them with a result too: the result was saved, the completion of the task did not reach Redis), %d batches lost entirely: %v",
		len(done), len(queued), both, len(lost), lost[:min(len(lost), 20)])

	// The re-run enqueues exactly the lost batches and leaves finished ones alone.
	r = produceOK(t, e, "-input", in, "-batch-size", strconv.Itoa(batch), "-run-id", runID)
	st := enqueueStats(t, r.stderr)
	require.Equal(t, len(lost), st.Enqueued, "batches enqueued by the re-run")
	require.Equal(t, len(done), st.Done, "batches the re-run found done")
	require.Equal(t, len(queued)-both, st.Queued, "batches the re-run found queued")

	workers = []*proc{startWorker(t, e, debug...), startWorker(t, e, debug...), startWorker(t, e, debug...)}
	out := filepath.Join(t.TempDir(), "out.tsv")
	start := time.Now()
	run := startProducer(t, e, "-input", in, "-batch-size", strconv.Itoa(batch), "-run-id", runID, "-wait", "-timeout", "4m", "-out", out)
	// A task whose result was saved but whose completion was lost is
	// still active, under a lease nobody extends: asynq's recoverer hands
	// it out again once the lease has expired (see recoverOrphans). No
	// task is left behind.
	if w := recoverOrphans(t, e, debug...); w != nil {
		workers = append(workers, w)
	}
	r = run.wait(t, 4*time.Minute)
	require.Equal(t, 0, r.code, r.stderr)
	t.Logf("run complete %s after the re-run", time.Since(start).Round(time.Second))
	redistest.WaitFor(t, 3*time.Minute, "the queue to drain", func() bool { return queueState(t, e).Size == 0 })
	t.Logf("queue drained %s after the re-run", time.Since(start).Round(time.Second))
	lostSet := make(map[int]bool, len(lost))
	for _, seq := range lost {
		lostSet[seq] = true
	}
	again := 0
	for _, w := range workers {
		for _, id := range batchesDone(w.Logs()) {
			seq := seqOf(t, id)
			require.True(t, queued[seq] || lostSet[seq], "batch %s had its result and no task, yet was converted again", id)
			if done[seq] {
				again++
			}
		}
	}
	t.Logf("%d batches converted twice, each because its task outlived its saved result in Redis (at-least-once)", again)
	checkOut(t, out, nums)
	checkResults(t, e, runID, nums, batch)
}

// survivors returns which batches of the run have a result and which still
// have a task in the queue, in any state.
func survivors(t *testing.T, e env, runID string, batches int) (done, queued map[int]bool) {
	t.Helper()
	seqs := make([]uint64, batches)
	for i := range seqs {
		seqs[i] = uint64(i)
	}
	left, err := rdb.New(e.Client, e.prefix).Lifetimes(context.Background(), runID, seqs)
	require.NoError(t, err)
	done = map[int]bool{}
	for i, d := range left {
		if d != rdb.Missing {
			done[i] = true
		}
	}
	queued = map[int]bool{}
	insp := e.inspector(t)
	lists := []func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error){
		insp.ListPendingTasks, insp.ListActiveTasks, insp.ListRetryTasks, insp.ListScheduledTasks, insp.ListArchivedTasks,
	}
	for _, list := range lists {
		for _, id := range taskIDs(t, e, list) {
			queued[seqOf(t, id)] = true
		}
	}
	return done, queued
}

// seqOf returns the batch number of task id "<run-id>:<seq>".
func seqOf(t *testing.T, id string) int {
	t.Helper()
	i := strings.LastIndexByte(id, ':')
	seq, err := strconv.Atoi(id[i+1:])
	require.NoError(t, err, "task id %q", id)
	return seq
}

// Redis unreachable at start: workers and a producer started before Redis
// wait for it with bounded backoff, saying so, then proceed; with Redis never
// coming, each exits 1 with a clear message once --redis-wait has passed.
func TestFaultRedisUnreachableAtStart(t *testing.T) {
	needRedisServer(t, false)
	t.Parallel()
	port := redistest.FreePortT(t)
	late := env{Redis: &redistest.Redis{URL: fmt.Sprintf("redis://127.0.0.1:%d/0", port)}, queue: "faults", prefix: "bqfault"}
	const runID, batch = "late", 10
	nums := testNumbers(3000) // 300 batches
	in := writeInput(t, nums)
	out := filepath.Join(t.TempDir(), "out.tsv")
	workers := []*proc{spawnWorker(t, late, withArgs("-redis-wait", "1m")...), spawnWorker(t, late, withArgs("-redis-wait", "1m")...)}
	run := startProducer(t, late, "-input", in, "-batch-size", strconv.Itoa(batch), "-run-id", runID, "-wait", "-timeout", "2m", "-out", out, "-redis-wait", "1m")
	const waiting = "redis not reachable yet; retrying"
	// Backoff doubles from 100 ms, ±50 %: four lines take 0.35 s at the least.
	redistest.WaitFor(t, 30*time.Second, "workers and producer waiting for Redis", func() bool {
		return countLines(workers[0].Logs(), waiting) >= 4 && countLines(workers[1].Logs(), waiting) >= 4 &&
			countLines(run.stderr.String(), waiting) >= 4
	})
	s := redistest.StartServer(t, redistest.Options{Port: port})
	late.Client = s.ClientT(t)
	for _, w := range workers {
		redistest.WaitFor(t, 30*time.Second, "worker serving", func() bool { return strings.Contains(w.Logs(), "msg=serving") })
	}
	r := run.wait(t, 2*time.Minute)
	require.Equal(t, 0, r.code, r.stderr)
	for _, logs := range []string{workers[0].Logs(), workers[1].Logs(), r.stderr} {
		// 100 ms doubling to 2 s: a handful of lines for a few seconds'
		// wait, not one per poll.
		n := countLines(logs, waiting)
		require.GreaterOrEqual(t, n, 2)
		require.LessOrEqual(t, n, 10, "lines while waiting:\n%s", logs)
		require.Contains(t, logs, "redis reachable")
	}
	checkOut(t, out, nums)
	checkResults(t, late, runID, nums, batch)

	// Redis never comes.
	dead := env{Redis: &redistest.Redis{URL: fmt.Sprintf("redis://127.0.0.1:%d/0", redistest.FreePortT(t))}, queue: "faults", prefix: "bqfault"}
	start := time.Now()
	w := spawnWorker(t, dead, withArgs("-redis-wait", "2s")...)
	p := startProducer(t, dead, "-count", "10", "-redis-wait", "2s")
	require.Equal(t, 1, w.exitCode(t, 20*time.Second), "worker exit code")
	took := time.Since(start)
	require.Contains(t, lastLine(w.Logs()), "worker: redis at "+dead.URL+" did not answer within 2s")
	pr := p.wait(t, 20*time.Second)
	require.Equal(t, 1, pr.code, pr.stderr)
	require.Contains(t, lastLine(pr.stderr), "producer: redis at "+dead.URL+" did not answer within 2s")
	require.Less(t, took, 10*time.Second, "time to give up with --redis-wait 2s")
	t.Logf("with Redis never coming, worker and producer gave up after %s", took.Round(time.Millisecond))
}

// A stuck handler: the producer's --task-timeout makes asynq cancel it; the
// batch is retried, then archived after --max-retry; `producer --wait`
// names the archived batches and exits 1. The worker is the slow test worker
// (the real handler behind a delay for batches 3 and 7).
func TestFaultTaskTimeout(t *testing.T) {
	needRedisServer(t, false)
	t.Parallel()
	_, e := startFaultServer(t)
	const runID, batch = "stall", 10
	nums := testNumbers(2000) // 200 batches
	in := writeInput(t, nums)
	w := startSlowWorker(t, e, "-slow-seqs", "3,7", "-delay", "1h", "-concurrency", "4")
	start := time.Now()
	args := []string{"-input", in, "-batch-size", strconv.Itoa(batch), "-run-id", runID, "-task-timeout", "1s", "-max-retry", "2", "-wait", "-timeout", "3m"}
	r := produce(t, e, args...)
	require.Equal(t, 1, r.code, r.stderr)
	t.Logf("producer gave up after %s: %s", time.Since(start).Round(time.Millisecond), lastLine(r.stderr))
	// The producer stops at the first archived batch; the other may follow
	// a moment later.
	failedRE := regexp.MustCompile(`producer: ([12]) batch\(es\) failed permanently: (stall:[37](, stall:[37])?) \(last error: .*context deadline exceeded.*\)$`)
	require.Regexp(t, failedRE, lastLine(r.stderr))

	insp := e.inspector(t)
	for _, id := range []string{"stall:3", "stall:7"} {
		var info *asynq.TaskInfo
		redistest.WaitFor(t, time.Minute, id+" archived", func() bool {
			var err error
			info, err = insp.GetTaskInfo(e.queue, id)
			require.NoError(t, err)
			return info.State == asynq.TaskStateArchived
		})
		require.Equal(t, 2, info.Retried, "retries of %s", id)
		require.Contains(t, info.LastErr, "deadline exceeded")
		logs := w.Logs()
		require.Equal(t, 3, countLines(logs, `"slow batch started" task_id=`+id+" "), "attempts of %s", id)
		require.Equal(t, 2, countLines(logs, `msg="task failed; will retry" task_id=`+id+" "), "retries logged for %s", id)
		require.Equal(t, 1, countLines(logs, `msg="task failed permanently; archived" task_id=`+id+" "), "archive logged for %s", id)
	}
	// Waiting again names both, and every other batch is right.
	r = produce(t, e, args...)
	require.Equal(t, 1, r.code, r.stderr)
	require.Regexp(t, `producer: 2 batch\(es\) failed permanently: stall:[37], stall:[37] `, lastLine(r.stderr))
	require.Contains(t, lastLine(r.stderr), "stall:3")
	require.Contains(t, lastLine(r.stderr), "stall:7")
	ctx := context.Background()
	for seq := range len(nums) / batch {
		key := base.ResultKey(e.prefix, runID, uint64(seq))
		n, err := e.Client.Exists(ctx, key).Result()
		require.NoError(t, err)
		require.Equal(t, seq != 3 && seq != 7, n == 1, "result of batch %d", seq)
	}
	checkSomeResults(t, e, runID, nums, batch, func(seq int) bool { return seq != 3 && seq != 7 })
	t.Logf("test took %s", time.Since(start).Round(time.Millisecond))
}

// checkSomeResults checks the results of the batches keep selects, as
// checkResults does for all.
func checkSomeResults(t *testing.T, e env, runID string, nums []uint64, batch int, keep func(seq int) bool) {
	t.Helper()
	ctx := context.Background()
	db := rdb.New(e.Client, e.prefix)
	for seq := 0; seq*batch < len(nums); seq++ {
		if !keep(seq) {
			continue
		}
		rs, err := db.LoadResults(ctx, runID, []uint64{uint64(seq)})
		require.NoError(t, err)
		r := rs[0]
		rows := nums[seq*batch : min((seq+1)*batch, len(nums))]
		require.Equal(t, len(rows), r.Count)
		for i, n := range rows {
			require.Equal(t, strconv.FormatInt(int64(n), 2), r.Bitstring(i), "batch %d row %d", seq, i)
		}
	}
}

// oomRE matches the producer's message when Redis is full.
var oomRE = regexp.MustCompile(`^producer: Redis is out of memory \(maxmemory with noeviction\): (\d+) of the (\d+) batches of run oom are queued \((\d+) by this run, 0 before\) and stay queued, 0 have results; free memory or raise maxmemory, then run again with --run-id oom to enqueue the rest \(redis: .*OOM command not allowed.*\)$`)

// Memory pressure: Redis with maxmemory and noeviction fills up during the
// enqueue. The producer stops with an error naming the cause, what it
// enqueued stays queued, and once memory is freed the same run id enqueues
// the rest and the run completes.
func TestFaultRedisOutOfMemory(t *testing.T) {
	needRedisServer(t, false)
	t.Parallel()
	s, e := startFaultServer(t)
	ctx := context.Background()
	require.NoError(t, s.LimitMemory(ctx, 2<<20))
	const runID, batch = "oom", 100
	nums := testNumbers(400_000) // 4,000 batches of about 1 kB each
	batches := len(nums) / batch
	in := writeInput(t, nums)
	args := []string{"-input", in, "-batch-size", strconv.Itoa(batch), "-run-id", runID}

	r := produce(t, e, args...)
	require.Equal(t, 1, r.code, r.stderr)
	m := oomRE.FindStringSubmatch(lastLine(r.stderr))
	require.NotNil(t, m, "message when Redis is full:\n%s", lastLine(r.stderr))
	queued, _ := strconv.Atoi(m[1])
	require.Equal(t, m[1], m[3])
	require.Equal(t, strconv.Itoa(batches), m[2])
	require.Positive(t, queued)
	require.Less(t, queued, batches)
	info := queueState(t, e)
	require.Equal(t, queued, info.Pending, "tasks in the queue: what the producer said it enqueued")
	require.Equal(t, queued, info.Size)
	t.Logf("Redis filled up after %d of %d batches: %s", queued, batches, lastLine(r.stderr))

	// Memory freed: the same run id enqueues the rest.
	require.NoError(t, s.LimitMemory(ctx, -1))
	r = produceOK(t, e, args...)
	st := enqueueStats(t, r.stderr)
	require.Equal(t, runs.EnqueueStats{Batches: batches, Enqueued: batches - queued, Queued: queued}, st)

	startWorker(t, e, withArgs()...)
	startWorker(t, e, withArgs()...)
	out := filepath.Join(t.TempDir(), "out.tsv")
	r = produceOK(t, e, append(args, "-wait", "-timeout", "2m", "-out", out)...)
	checkOut(t, out, nums)
	checkResults(t, e, runID, nums, batch)
}

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
	r := produceOK(t, e, "-input", in, "-batch-size", "200", "-run-id", runID)
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
