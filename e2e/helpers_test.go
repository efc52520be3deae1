package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/base"
	"bitqueue/internal/rdb"
	"bitqueue/internal/runs"
	"bitqueue/redistest"
)

// bin holds the producer, worker, exporter and demo binaries, built once by
// TestMain.
var bin string

// parallel is how many tests run at once unless -parallel says otherwise:
// most of their time goes to waiting (for processes to start, for asynq's
// leases to expire, for a sentinel to fail over), not to the CPU.
const parallel = "8"

func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		_ = flag.Set("test.parallel", parallel)
	}
	dir, err := os.MkdirTemp("", "bitqueue-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = dir
	// slowworker is the real handler behind a delay, for fault tests only.
	build := exec.Command("go", "build", "-o", dir+string(os.PathSeparator), "bitqueue/cmd/producer", "bitqueue/cmd/worker", "bitqueue/cmd/exporter", "bitqueue/cmd/demo", "bitqueue/e2e/testdata/slowworker")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build binaries:", err)
		os.Exit(1)
	}
	// Workers serve /healthz, /readyz and /metrics on a free loopback port
	// unless a test passes --http-addr, so that the many workers of the
	// tests never compete for the default :8080.
	os.Setenv("BITQUEUE_HTTP_ADDR", "127.0.0.1:0")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// env is one test's Redis, queue and key prefix.
type env struct {
	*redistest.Redis
	queue, prefix string
}

func setup(t *testing.T) env {
	t.Helper()
	r := redistest.Start(t)
	q, p := r.Namespace(t)
	return env{Redis: r, queue: q, prefix: p}
}

func (e env) inspector(t *testing.T) *asynq.Inspector {
	t.Helper()
	return asynq.NewInspectorFromRedisClient(e.Client)
}

// startWorker starts a worker process on e's queue and prefix and waits until
// it serves. The process is killed when the test ends if it still runs.
func startWorker(t *testing.T, e env, args ...string) *proc {
	t.Helper()
	args = append([]string{"-redis", e.URL, "-queue", e.queue, "-prefix", e.prefix, "-log-level", "debug"}, args...)
	return spawnUntil(t, exec.Command(filepath.Join(bin, "worker"), args...), 30*time.Second, "msg=serving")
}

// produce runs the producer on e's queue and prefix.
func produce(t *testing.T, e env, args ...string) result {
	t.Helper()
	return produceStdin(t, e, "", args...)
}

// enqueueing starts a producer enqueueing run runID of count integers, one
// a batch and one batch at a time, and returns it once pending of its
// batches are queued or it exited.
func enqueueing(t *testing.T, e env, runID string, count, pending int) *bgRun {
	t.Helper()
	bg := startProducer(t, e, "-count", strconv.Itoa(count), "-batch-size", "1", "-concurrency", "1", "-run-id", runID)
	redistest.WaitFor(t, time.Minute, "some batches enqueued", func() bool { return queueState(t, e).Pending >= pending || bg.exited() })
	return bg
}

// taskIDs returns the ids of the tasks of e's queue that list lists (an
// inspector's ListPendingTasks, ListCompletedTasks, …), page by page,
// sorted.
func taskIDs(t *testing.T, e env, list func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error)) []string {
	t.Helper()
	var ids []string
	for page := 1; ; page++ {
		ts, err := list(e.queue, asynq.PageSize(1000), asynq.Page(page))
		require.NoError(t, err)
		for _, ti := range ts {
			ids = append(ids, ti.ID)
		}
		if len(ts) < 1000 {
			slices.Sort(ids)
			return ids
		}
	}
}

// produceOK runs the producer as produce does and requires it to exit 0.
func produceOK(t *testing.T, e env, args ...string) result {
	t.Helper()
	r := produce(t, e, args...)
	require.Equal(t, 0, r.code, r.stderr)
	return r
}

// produceStdin runs the producer with stdin as its standard input.
func produceStdin(t *testing.T, e env, stdin string, args ...string) result {
	t.Helper()
	args = append([]string{"-redis", e.URL, "-queue", e.queue, "-prefix", e.prefix}, args...)
	cmd := exec.Command(filepath.Join(bin, "producer"), args...)
	cmd.Stdin = strings.NewReader(stdin)
	return runCmd(t, cmd)
}

// proc is a process a test started (a worker, a scheduled producer), its
// output captured; it is killed, with its process group, when the test ends
// if it still runs.
type proc struct {
	*redistest.Process
}

// spawn starts cmd without waiting for anything.
func spawn(t *testing.T, cmd *exec.Cmd) *proc {
	t.Helper()
	return &proc{redistest.Spawn(t, cmd)}
}

// spawnBin starts the binary name (built by TestMain) with args.
func spawnBin(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	return spawn(t, exec.Command(filepath.Join(bin, name), args...))
}

// spawnUntil starts cmd and waits up to timeout until its output holds
// ready (such as "msg=serving").
func spawnUntil(t *testing.T, cmd *exec.Cmd, timeout time.Duration, ready string) *proc {
	t.Helper()
	p := spawn(t, cmd)
	redistest.WaitFor(t, timeout, cmd.Path+" to log "+ready, func() bool { return p.LogBuffer().Contains(ready) })
	return p
}

// stop sends sig and waits up to 30 s for the process to exit, returning its
// exit code.
func (p *proc) stop(t *testing.T, sig syscall.Signal) int {
	t.Helper()
	code, err := p.Stop(sig, 30*time.Second)
	require.NoError(t, err)
	return code
}

// kill SIGKILLs the process and waits for it to die.
func (p *proc) kill(t *testing.T) {
	t.Helper()
	p.Kill()
}

// alive reports whether the process still runs.
func (p *proc) alive() bool { return !p.Exited() }

// exitCode waits up to timeout for the process to exit by itself and returns
// its exit code.
func (p *proc) exitCode(t *testing.T, timeout time.Duration) int {
	t.Helper()
	code, err := p.Wait(timeout)
	require.NoError(t, err, "logs:\n%s", p.LogBuffer().Tail(40))
	return code
}

// result is what a command printed and how it exited.
type result struct {
	stdout, stderr string
	code           int
}

// runCmd runs cmd to its end (at most 5 minutes) and returns what it printed
// and its exit code.
func runCmd(t *testing.T, cmd *exec.Cmd) result {
	t.Helper()
	var stdout, stderr redistest.LogBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	p := redistest.Spawn(t, cmd)
	code, err := p.Wait(5 * time.Minute)
	require.NoError(t, err, "run %s", cmd.Path)
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// bgRun is a command running in the background, such as a producer that
// waits for its run.
type bgRun struct {
	p              *redistest.Process
	stdout, stderr *redistest.LogBuffer
}

// startBackground starts cmd without waiting for it; wait collects its
// result. It is killed if it outlives the test.
func startBackground(t *testing.T, cmd *exec.Cmd) *bgRun {
	t.Helper()
	r := &bgRun{stdout: &redistest.LogBuffer{}, stderr: &redistest.LogBuffer{}}
	cmd.Stdout, cmd.Stderr = r.stdout, r.stderr
	r.p = redistest.Spawn(t, cmd)
	return r
}

// wait returns the command's result, failing t if it has not exited within
// timeout.
func (r *bgRun) wait(t *testing.T, timeout time.Duration) result {
	t.Helper()
	code, err := r.p.Wait(timeout)
	require.NoError(t, err, "stderr:\n%s", r.stderr.Tail(40))
	return result{stdout: r.stdout.String(), stderr: r.stderr.String(), code: code}
}

// exited reports whether the command has exited.
func (r *bgRun) exited() bool { return r.p.Exited() }

// faultsEnv makes the fault tests fail, rather than skip, when redis-server
// is not installed; CI sets it to "require".
const faultsEnv = "BITQUEUE_FAULTS"

// needRedisServer skips t, saying why, when redis-server is not installed,
// unless BITQUEUE_FAULTS=require (as in CI), where it fails t instead. Slow
// fault tests are also skipped under -short.
func needRedisServer(t *testing.T, slow bool) {
	t.Helper()
	if slow && testing.Short() {
		t.Skip("a fault test that waits for asynq's 30 s task lease; run without -short")
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv(faultsEnv) == "require" {
			t.Fatalf("redis-server is not installed (%v), and %s=require", err, faultsEnv)
		}
		t.Skipf("redis-server is not installed: fault tests start, stop and kill a Redis of their own (apt-get install redis-server; CI sets %s=require)", faultsEnv)
	}
}

// startFaultServer starts a redis-server owned by t (its own loopback port
// and data directory, so that the test may stop, kill, restart or fill it
// without touching any other test's Redis) with extra redis-server args, and
// returns it with a test environment on it.
func startFaultServer(t *testing.T, args ...string) (*redistest.Server, env) {
	t.Helper()
	s := redistest.StartServer(t, redistest.Options{Args: args})
	return s, serverEnv(t, s)
}

// serverEnv returns a test environment on s, with a queue and key prefix of
// its own.
func serverEnv(t *testing.T, s *redistest.Server) env {
	t.Helper()
	return env{Redis: &redistest.Redis{URL: s.URL(), Client: s.ClientT(t)}, queue: "faults", prefix: "bqfault"}
}

// stopServer stops s with sig (SIGTERM: save and exit; SIGKILL: die at
// once) and waits until it has exited.
func stopServer(t *testing.T, s *redistest.Server, sig syscall.Signal) {
	t.Helper()
	require.NoError(t, s.Stop(sig))
	t.Logf("redis-server on port %d stopped with %s", s.Port, sig)
}

// restartServer starts s again on the same port and data directory and
// waits until it has loaded its data.
func restartServer(t *testing.T, s *redistest.Server) {
	t.Helper()
	start := time.Now()
	require.NoError(t, s.Restart())
	t.Logf("redis-server on port %d serving again after %s", s.Port, time.Since(start).Round(time.Millisecond))
}

// outageBegan is what the producer and the workers log when Redis stops
// answering (outage.Rider).
const outageBegan = "redis unreachable; retrying with backoff"

// asynqDequeueError is what asynq logs (through the worker's log) when a
// worker cannot pull a task because Redis does not answer.
const asynqDequeueError = "Dequeue error"

// anyLogged reports whether any of procs has logged line.
func anyLogged(procs []*proc, line string) bool {
	for _, p := range procs {
		if p.LogBuffer().Contains(line) {
			return true
		}
	}
	return false
}

// waitProgress waits until the workers on e have converted n more batches
// than now, or the queue holds no more pending batch: they are serving.
func waitProgress(t *testing.T, e env, n int) {
	t.Helper()
	start := queueState(t, e).Processed
	redistest.WaitFor(t, time.Minute, fmt.Sprintf("%d more batches converted", n), func() bool {
		info := queueState(t, e)
		return info.Processed >= start+n || info.Pending == 0
	})
}

// startProducer starts the producer on e's queue and prefix without waiting
// for it; wait collects its result. It is killed if it outlives the test.
func startProducer(t *testing.T, e env, args ...string) *bgRun {
	t.Helper()
	args = append([]string{"-redis", e.URL, "-queue", e.queue, "-prefix", e.prefix}, args...)
	return startBackground(t, exec.Command(filepath.Join(bin, "producer"), args...))
}

// spawnWorker starts a worker process like startWorker but returns at once,
// without waiting for it to serve.
func spawnWorker(t *testing.T, e env, args ...string) *proc {
	t.Helper()
	args = append([]string{"-redis", e.URL, "-queue", e.queue, "-prefix", e.prefix, "-log-level", "debug"}, args...)
	return spawn(t, exec.Command(filepath.Join(bin, "worker"), args...))
}

// startSlowWorker starts the slow test worker (e2e/testdata/slowworker) on
// e's queue and prefix and waits until it serves.
func startSlowWorker(t *testing.T, e env, args ...string) *proc {
	t.Helper()
	args = append([]string{"-redis", e.URL, "-queue", e.queue, "-prefix", e.prefix}, args...)
	return spawnUntil(t, exec.Command(filepath.Join(bin, "slowworker"), args...), 30*time.Second, "msg=serving")
}

// queueState returns e's queue state, all zero before the queue exists.
func queueState(t *testing.T, e env) *asynq.QueueInfo {
	t.Helper()
	info, err := rdb.New(e.Client, e.prefix).QueueInfo(e.queue)
	if err != nil {
		// The queue may have come into being between QueueInfo's two
		// questions: ask again.
		info, err = rdb.New(e.Client, e.prefix).QueueInfo(e.queue)
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
	// In pipelines of 1000 batches: one round trip each, not two per batch.
	for first := 0; first < batches; first += 1000 {
		last := min(first+1000, batches)
		hashes := make([]*redis.MapStringStringCmd, last-first)
		ttls := make([]*redis.DurationCmd, last-first)
		_, err := e.Client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for seq := first; seq < last; seq++ {
				key := base.ResultKey(e.prefix, runID, uint64(seq))
				hashes[seq-first] = p.HGetAll(ctx, key)
				ttls[seq-first] = p.PTTL(ctx, key)
			}
			return nil
		})
		require.NoError(t, err)
		for seq := first; seq < last; seq++ {
			key := base.ResultKey(e.prefix, runID, uint64(seq))
			h := hashes[seq-first].Val()
			require.NotEmpty(t, h, "batch %d has no result (%s)", seq, key)
			r, err := base.ParseResult(h)
			require.NoError(t, err, "result %s", key)
			rows := nums[seq*batch : min((seq+1)*batch, len(nums))]
			require.Equal(t, len(rows), r.Count, "count of %s", key)
			for i, n := range rows {
				if got, want := r.Bitstring(i), strconv.FormatInt(int64(n), 2); got != want {
					require.Failf(t, "wrong value", "%s row %d: %s, want %s (%d)", key, i, got, want, n)
				}
			}
			require.Positive(t, ttls[seq-first].Val(), "TTL of %s", key)
		}
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

// leases describes the queue's active tasks as asynq keeps them: how many
// there are, how many hold a lease (asynq's recoverer hands out again only
// tasks whose lease expired) and how many of those leases have expired.
// Tasks active without a lease (asynq issues #1051, #1144) would never be
// recovered.
func leases(t *testing.T, e env) (active, leased, expired int) {
	t.Helper()
	return leasesBefore(t, e, time.Now())
}

// leasesBefore is leases, counting as expired the leases that ran out
// before cutoff.
func leasesBefore(t *testing.T, e env, cutoff time.Time) (active, leased, expired int) {
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
	for _, id := range ids.Val() {
		if score, ok := expiry[id]; ok {
			leased++
			if score < float64(cutoff.Unix()) {
				expired++
			}
		}
	}
	return len(ids.Val()), leased, expired
}

// recoverOrphans waits until e's queue holds nothing but batches left
// active under leases that expired at least 30 s ago (those asynq's
// recoverer takes: their worker died, or their completion never reached
// Redis), or holds nothing at all. In the former case it starts a worker with
// args: asynq runs a server's recoverer once when it starts, then once a
// minute, so the new worker hands the orphans out again at once instead of
// at the next round of the running workers' recoverers, up to a minute
// later. Either way the orphans come back only through asynq's lease expiry.
// It returns the worker it started, if any.
func recoverOrphans(t *testing.T, e env, args ...string) *proc {
	t.Helper()
	return recoverOrphansWith(t, e, func() *proc { return startWorker(t, e, args...) })
}

// recoverOrphansWith is recoverOrphans starting the worker with start.
func recoverOrphansWith(t *testing.T, e env, start func() *proc) *proc {
	t.Helper()
	orphans := 0
	redistest.WaitFor(t, 3*time.Minute, "only orphaned batches left, their leases expired for 30 s", func() bool {
		info := queueState(t, e)
		if info.Size == 0 {
			return true
		}
		if info.Pending+info.Retry+info.Scheduled > 0 || info.Active == 0 {
			return false
		}
		active, leased, expired := leasesBefore(t, e, time.Now().Add(-30*time.Second))
		if active > 0 && leased == active && expired == active {
			orphans = active
			return true
		}
		return false
	})
	if orphans > 0 {
		t.Logf("%d orphaned batches, their leases expired for 30 s: a worker starts and recovers them", orphans)
		return start()
	}
	return nil
}

// deployment is a Redis deployment a test started itself (with a password,
// TLS, a sentinel, a cluster), as the commands reach it.
type deployment struct {
	url           string
	environ       []string // variables for both commands, such as REDIS_PASSWORD=…
	args          []string // flags for both commands, such as --redis-ca
	queue, prefix string
}

// newDeployment returns a deployment of url with a queue and key prefix of
// its own.
func newDeployment(url string, args ...string) deployment {
	var b [6]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	return deployment{url: url, args: args, queue: "deploy-" + id, prefix: "bqdeploy-" + id}
}

// with returns d with more environment variables.
func (d deployment) with(environ ...string) deployment {
	d.environ = append(append([]string(nil), d.environ...), environ...)
	return d
}

// command returns the command of binary name on d, with args after d's own.
func (d deployment) command(name string, args ...string) *exec.Cmd {
	all := append([]string{"-redis", d.url, "-queue", d.queue, "-prefix", d.prefix}, d.args...)
	cmd := exec.Command(filepath.Join(bin, name), append(all, args...)...)
	// The commands see no Redis settings of the test's own environment.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "REDIS_") && !strings.HasPrefix(kv, "BITQUEUE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, d.environ...)
	return cmd
}

// startWorker starts a worker process on d, without its HTTP server, and
// waits until it serves. The process is killed when the test ends.
func (d deployment) startWorker(t *testing.T, args ...string) *proc {
	t.Helper()
	p := d.spawnWorker(t, args...)
	redistest.WaitFor(t, time.Minute, "worker serving", func() bool { return p.LogBuffer().Contains("msg=serving") })
	return p
}

// spawnWorker starts a worker process on d without waiting for it.
func (d deployment) spawnWorker(t *testing.T, args ...string) *proc {
	t.Helper()
	args = append([]string{"-log-level", "debug", "-http-addr", "off"}, args...)
	return spawn(t, d.command("worker", args...))
}

// produce runs the producer on d.
func (d deployment) produce(t *testing.T, args ...string) result {
	t.Helper()
	return runCmd(t, d.command("producer", args...))
}

// requireRun runs the producer on d over nums, waits for every result and
// checks every output line.
func (d deployment) requireRun(t *testing.T, nums []uint64, args ...string) result {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out.tsv")
	args = append([]string{"-input", writeInput(t, nums), "-wait", "-timeout", "3m", "-out", out}, args...)
	r := d.produce(t, args...)
	require.Equal(t, 0, r.code, "producer failed: %s", r.stderr)
	checkOut(t, out, nums)
	return r
}
