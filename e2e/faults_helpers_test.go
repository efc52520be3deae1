package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/results"
	"bitqueue/internal/runs"
	"bitqueue/internal/tasks"
)

// bgRun is a producer running in the background.
type bgRun struct {
	stderr *syncBuffer
	stdout *syncBuffer
	done   chan result
}

// startProducer starts the producer on e's queue and prefix without waiting
// for it; wait collects its result. It is killed if it outlives the test.
func startProducer(t *testing.T, e env, args ...string) *bgRun {
	t.Helper()
	args = append([]string{"-redis", e.URL, "-queue", e.queue, "-prefix", e.prefix}, args...)
	cmd := exec.Command(filepath.Join(bin, "producer"), args...)
	r := &bgRun{stderr: &syncBuffer{}, stdout: &syncBuffer{}, done: make(chan result, 1)}
	cmd.Stdout, cmd.Stderr = r.stdout, r.stderr
	require.NoError(t, cmd.Start())
	exited := make(chan struct{})
	go func() {
		err := cmd.Wait()
		close(exited)
		res := result{stdout: r.stdout.String(), stderr: r.stderr.String()}
		var ee *exec.ExitError
		switch {
		case errors.As(err, &ee):
			res.code = ee.ExitCode()
		case err != nil:
			res.code = -1
			res.stderr += "\n" + err.Error()
		}
		r.done <- res
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	return r
}

// wait returns the producer's result, failing t if it has not exited within
// timeout.
func (r *bgRun) wait(t *testing.T, timeout time.Duration) result {
	t.Helper()
	select {
	case res := <-r.done:
		r.done <- res
		return res
	case <-time.After(timeout):
		t.Fatalf("producer still running after %s; stderr:\n%s", timeout, r.stderr)
		return result{}
	}
}

// exited reports whether the producer has exited.
func (r *bgRun) exited() bool {
	select {
	case res := <-r.done:
		r.done <- res
		return true
	default:
		return false
	}
}

// spawnWorker starts a worker process like startWorker but returns at once,
// without waiting for it to serve.
func spawnWorker(t *testing.T, e env, args ...string) *proc {
	t.Helper()
	args = append([]string{"-redis", e.URL, "-queue", e.queue, "-prefix", e.prefix, "-log-level", "debug"}, args...)
	return spawn(t, filepath.Join(bin, "worker"), args...)
}

// startSlowWorker starts the slow test worker (e2e/testdata/slowworker) on
// e's queue and prefix and waits until it serves.
func startSlowWorker(t *testing.T, e env, args ...string) *proc {
	t.Helper()
	args = append([]string{"-redis", e.URL, "-queue", e.queue, "-prefix", e.prefix}, args...)
	p := spawn(t, filepath.Join(bin, "slowworker"), args...)
	waitFor(t, 30*time.Second, "slow worker serving", func() bool { return strings.Contains(p.logs.String(), "msg=serving") })
	return p
}

func spawn(t *testing.T, path string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(path, args...), logs: &syncBuffer{}, done: make(chan error, 1)}
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	require.NoError(t, p.cmd.Start())
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		err := <-p.done
		p.done <- err
		if t.Failed() {
			t.Logf("%s %d logs:\n%s", filepath.Base(path), p.cmd.Process.Pid, tail(p.logs.String(), 60))
		}
	})
	return p
}

// kill SIGKILLs p and waits for it to die.
func (p *proc) kill(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
	select {
	case err := <-p.done:
		p.done <- err
	case <-time.After(30 * time.Second):
		t.Fatalf("process %d still alive 30s after SIGKILL", p.cmd.Process.Pid)
	}
}

// alive reports whether p is still running.
func (p *proc) alive() bool {
	select {
	case err := <-p.done:
		p.done <- err
		return false
	default:
		return true
	}
}

// exitCode waits up to timeout for p to exit by itself and returns its exit
// code.
func (p *proc) exitCode(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		require.NoError(t, err)
		return 0
	case <-time.After(timeout):
		t.Fatalf("process %d still running after %s; logs:\n%s", p.cmd.Process.Pid, timeout, tail(p.logs.String(), 40))
		return -1
	}
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("... (%d lines before)", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// queueState returns e's queue state, all zero before the queue exists.
func queueState(t *testing.T, e env) *asynq.QueueInfo {
	t.Helper()
	info, err := runs.QueueInfo(e.inspector(t), e.queue)
	if err != nil {
		// The queue may have come into being between QueueInfo's two
		// questions: ask again.
		info, err = runs.QueueInfo(e.inspector(t), e.queue)
	}
	require.NoError(t, err)
	return info
}

// statsRE matches the producer's "enqueued" log line.
var statsRE = regexp.MustCompile(`msg=enqueued .*batches=(\d+) new=(\d+) already_queued=(\d+) already_done=(\d+)`)

// enqueueStats reads what the producer said it enqueued.
func enqueueStats(t *testing.T, stderr string) runs.EnqueueStats {
	t.Helper()
	m := statsRE.FindStringSubmatch(stderr)
	require.NotNil(t, m, "no enqueued line in producer output:\n%s", stderr)
	n := func(s string) int {
		v, err := strconv.Atoi(s)
		require.NoError(t, err)
		return v
	}
	return runs.EnqueueStats{Batches: n(m[1]), Enqueued: n(m[2]), Queued: n(m[3]), Done: n(m[4])}
}

// checkResults reads every result hash of the run straight from Redis and
// checks it field by field against nums: each batch present, each row
// strconv.FormatInt of its integer, each key with a TTL, and no other result
// key for the run.
func checkResults(t *testing.T, e env, runID string, nums []uint64, batch int) {
	t.Helper()
	ctx := context.Background()
	batches := (len(nums) + batch - 1) / batch
	for seq := range batches {
		key := results.Key(e.prefix, runID, uint64(seq))
		h, err := e.Client.HGetAll(ctx, key).Result()
		require.NoError(t, err)
		require.NotEmpty(t, h, "batch %d has no result (%s)", seq, key)
		r, err := tasks.ParseResult(h)
		require.NoError(t, err, "result %s", key)
		rows := nums[seq*batch : min((seq+1)*batch, len(nums))]
		require.Equal(t, len(rows), r.Count, "count of %s", key)
		for i, n := range rows {
			if got, want := r.Bitstring(i), strconv.FormatInt(int64(n), 2); got != want {
				require.Failf(t, "wrong value", "%s row %d: %s, want %s (%d)", key, i, got, want, n)
			}
		}
		ttl, err := e.Client.PTTL(ctx, key).Result()
		require.NoError(t, err)
		require.Positive(t, ttl, "TTL of %s", key)
	}
	var keys int
	iter := e.Client.Scan(ctx, 0, e.prefix+":result:"+runID+":*", 1000).Iterator()
	for iter.Next(ctx) {
		keys++
	}
	require.NoError(t, iter.Err())
	require.Equal(t, batches, keys, "result keys of run %s", runID)
}

// batchDoneRE matches a worker's debug line for a converted batch.
var batchDoneRE = regexp.MustCompile(`msg="batch done" task_id=(\S+) .* err=<nil>`)

// batchesDone returns the task ids a worker log reports converted, in order.
func batchesDone(logs string) []string {
	var ids []string
	for _, m := range batchDoneRE.FindAllStringSubmatch(logs, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

// countLines returns how many lines of s contain sub.
func countLines(s, sub string) int {
	n := 0
	for line := range strings.SplitSeq(s, "\n") {
		if strings.Contains(line, sub) {
			n++
		}
	}
	return n
}

// lastLine returns the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// nonEmptyLines returns the non-empty lines of b.
func nonEmptyLines(b []byte) [][]byte {
	var out [][]byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(l)) > 0 {
			out = append(out, l)
		}
	}
	return out
}

// leases describes the queue's active tasks as asynq keeps them: how many
// there are, how many hold a lease (asynq's recoverer hands out again only
// tasks whose lease expired) and how many of those leases have expired.
// Tasks active without a lease (asynq issues #1051, #1144) would never be
// recovered.
func leases(t *testing.T, e env) (active, leased, expired int) {
	t.Helper()
	ctx := context.Background()
	// One MULTI, so that no task finishes between the two reads.
	var ids *redis.StringSliceCmd
	var lease *redis.ZSliceCmd
	_, err := e.Client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		ids = p.LRange(ctx, "asynq:{"+e.queue+"}:active", 0, -1)
		lease = p.ZRangeWithScores(ctx, "asynq:{"+e.queue+"}:lease", 0, -1)
		return nil
	})
	require.NoError(t, err)
	expiry := map[string]float64{}
	for _, z := range lease.Val() {
		expiry[z.Member.(string)] = z.Score
	}
	now := float64(time.Now().Unix())
	for _, id := range ids.Val() {
		if score, ok := expiry[id]; ok {
			leased++
			if score < now {
				expired++
			}
		}
	}
	return len(ids.Val()), leased, expired
}
