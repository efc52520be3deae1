package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/bits"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"bitqueue/fixture/promtest"
	"bitqueue/internal/base"
	"bitqueue/internal/cache"
	"bitqueue/redistest"
)

// ownRedis is a Redis server one test owns on a loopback port of its own, so
// that it can stop and start it again: a redis-server process when
// redis-server is installed, an embedded one (miniredis) otherwise.
type ownRedis struct {
	t        *testing.T
	port     int
	password string
	srv      *redistest.Server // once started, when redis-server is installed
	mini     *miniredis.Miniredis
}

// newOwnRedis picks a free port for a Redis requiring password (none when
// empty). The server does not run until start.
func newOwnRedis(t *testing.T, password string) *ownRedis {
	t.Helper()
	r := &ownRedis{t: t, port: redistest.FreePortT(t), password: password}
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Logf("redis-server is not installed (%v): using an embedded Redis as the test's own server", err)
		r.mini = miniredis.NewMiniRedis()
		if password != "" {
			r.mini.RequireAuth(password)
		}
		t.Cleanup(r.mini.Close)
	}
	return r
}

// url is the server's URL, with the password given, which may differ from
// the server's.
func (r *ownRedis) url(password string) string {
	if password == "" {
		return fmt.Sprintf("redis://127.0.0.1:%d/0", r.port)
	}
	return fmt.Sprintf("redis://:%s@127.0.0.1:%d/0", password, r.port)
}

// start starts the server on its port and waits until it answers.
func (r *ownRedis) start() {
	r.t.Helper()
	switch {
	case r.mini != nil:
		require.NoError(r.t, r.mini.StartAddr(fmt.Sprintf("127.0.0.1:%d", r.port)))
	case r.srv == nil:
		r.srv = redistest.StartServer(r.t, redistest.Options{Port: r.port, Password: r.password})
	default:
		require.NoError(r.t, r.srv.Restart())
	}
}

// stop stops the server and waits until it is gone.
func (r *ownRedis) stop() {
	r.t.Helper()
	if r.mini != nil {
		r.mini.Close()
		return
	}
	require.NoError(r.t, r.srv.Stop(syscall.SIGTERM))
}

var httpAddrRE = regexp.MustCompile(`msg="http listening" addr=(\S+)|"msg":"http listening","addr":"([^"]+)"`)

// opsURL waits for worker p to log where its HTTP server listens and returns
// its base URL.
func opsURL(t *testing.T, p *proc) string {
	t.Helper()
	var addr string
	redistest.WaitFor(t, 30*time.Second, "the worker's HTTP server", func() bool {
		m := httpAddrRE.FindStringSubmatch(p.Logs())
		if m == nil {
			return false
		}
		addr = m[1] + m[2]
		return true
	})
	return "http://" + addr
}

// httpGet returns the status and body of url, or -1 when it does not answer.
func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return -1, err.Error()
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// waitStatus polls url until it answers code with a body containing want.
func waitStatus(t *testing.T, url string, code int, want string, timeout time.Duration) {
	t.Helper()
	var got int
	var body string
	redistest.WaitFor(t, timeout, fmt.Sprintf("%s to answer %d %q", url, code, want), func() bool {
		got, body = httpGet(t, url)
		return got == code && strings.Contains(body, want)
	})
}

// scrape reads baseURL/metrics and returns its families by name, having checked
// that bitqueue's own follow Prometheus's naming conventions.
func scrape(t *testing.T, baseURL string) map[string]*dto.MetricFamily {
	t.Helper()
	code, body := httpGet(t, baseURL+"/metrics")
	require.Equal(t, http.StatusOK, code, body)
	problems, err := promlint.New(strings.NewReader(body)).Lint()
	require.NoError(t, err)
	for _, p := range problems {
		require.False(t, strings.HasPrefix(p.Metric, "bitqueue_"), "lint: %s: %s", p.Metric, p.Text)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(strings.NewReader(body))
	require.NoError(t, err)
	return mfs
}

// sample returns the value of name's sample with labels, given as name and
// value pairs (a histogram's sample count), failing t when there is none.
func sample(t *testing.T, mfs map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	t.Helper()
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	return promtest.Sample(t, mfs, name, want)
}

// requireJSONLines checks that every line of logs is one JSON object and
// returns them.
func requireJSONLines(t *testing.T, logs string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for i, line := range strings.Split(strings.TrimRight(logs, "\n"), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), "log line %d is not JSON: %s", i+1, line)
		out = append(out, m)
	}
	return out
}

// TestWorkerHealthAndReadiness starts a worker before its Redis: /healthz
// answers at once, /readyz says why the worker is not ready until Redis
// answers, goes back to 503 while Redis is down and to 200 when it returns.
// Its JSON logs have one line per lifecycle event, with durations.
func TestWorkerHealthAndReadiness(t *testing.T) {
	t.Parallel()
	r := newOwnRedis(t, "")
	w := spawnBin(t, "worker", "-redis", r.url(""), "-queue", "ops-ready", "-prefix", "bqops",
		"-redis-wait", "2m", "-http-addr", "127.0.0.1:0", "-log-format", "json", "-log-level", "info")
	u := opsURL(t, w)

	code, body := httpGet(t, u+"/healthz")
	require.Equal(t, http.StatusOK, code, "healthz while starting: %s", body)
	code, body = httpGet(t, u+"/readyz")
	require.Equal(t, http.StatusServiceUnavailable, code, "readyz while starting: %s", body)
	require.Regexp(t, `^not ready: (starting|building cache|waiting for Redis)\n$`, body)
	waitStatus(t, u+"/readyz", http.StatusServiceUnavailable, "not ready: waiting for Redis", 30*time.Second)
	require.Zero(t, sample(t, scrape(t, u), "bitqueue_ready"))
	code, _ = httpGet(t, u+"/healthz")
	require.Equal(t, http.StatusOK, code, "healthz while waiting for Redis")

	r.start()
	waitStatus(t, u+"/readyz", http.StatusOK, "ready", 30*time.Second)
	require.Equal(t, 1.0, sample(t, scrape(t, u), "bitqueue_ready"))
	require.Equal(t, 1.0, sample(t, scrape(t, u), "bitqueue_build_info"), "which build the worker runs")

	r.stop()
	waitStatus(t, u+"/readyz", http.StatusServiceUnavailable, "not ready: Redis unreachable", 30*time.Second)
	mfs := scrape(t, u)
	require.Zero(t, sample(t, mfs, "bitqueue_ready"))
	requireNoQueueSeries(t, mfs)
	exporter := opsURL(t, spawnBin(t, "exporter", "-redis", r.url(""), "-queue", "ops-ready", "-http-addr", "127.0.0.1:0", "-inspect-timeout", "1s"))
	require.Zero(t, sample(t, scrape(t, exporter), "bitqueue_queue_inspect_success"), "queue metrics without Redis")
	code, _ = httpGet(t, u+"/healthz")
	require.Equal(t, http.StatusOK, code, "healthz while Redis is down")

	r.start()
	waitStatus(t, u+"/readyz", http.StatusOK, "ready", 30*time.Second)

	require.Equal(t, 0, w.stop(t, syscall.SIGTERM), "exit code after SIGTERM")
	code, _ = httpGet(t, u+"/healthz")
	require.Equal(t, -1, code, "the HTTP server stops with the worker")

	lines := requireJSONLines(t, w.Logs())
	seen := map[string]map[string]any{}
	for _, l := range lines {
		msg, _ := l["msg"].(string)
		if _, ok := seen[msg]; !ok {
			seen[msg] = l
		}
		require.NotEqual(t, "batch done", msg, "per-batch lines only at debug")
	}
	for msg, field := range map[string]string{
		"worker starting":              "redis",
		"http listening":               "addr",
		"cache built":                  "took",
		"startup hook done":            "took",
		"serving":                      "ready_after",
		"shutdown begun":               "timeout",
		"shutdown done":                "took",
		"redis unreachable; not ready": "err",
		"redis reachable again; ready": "redis",
	} {
		l, ok := seen[msg]
		require.True(t, ok, "no %q line in the logs", msg)
		require.Contains(t, l, field, "%q line", msg)
	}
	require.Equal(t, 10.0, seen["shutdown begun"]["timeout"], "durations are seconds in JSON")
}

// TestMetricsAfterRun runs 12 345 integers and a malformed task through one
// worker and checks what its /metrics says.
func TestMetricsAfterRun(t *testing.T) {
	t.Parallel()
	e := setup(t)
	const cacheBits = 10
	nums := testNumbers(12_345)
	misses := 0
	for _, n := range nums {
		if bits.Len64(n) > cacheBits {
			misses++
		}
	}
	w := startWorker(t, e, "-http-addr", "127.0.0.1:0", "-cache-bits", strconv.Itoa(cacheBits))
	u := opsURL(t, w)

	produceOK(t, e, "-input", writeInput(t, nums), "-batch-size", "1000", "-run-id", "metrics-run", "-wait", "-timeout", "2m")

	client := asynq.NewClientFromRedisClient(e.Client)
	t.Cleanup(func() { client.Close() })
	_, err := client.Enqueue(asynq.NewTask(base.TypeBits, []byte("not a batch")), asynq.Queue(e.queue), asynq.TaskID("malformed:0"), asynq.MaxRetry(3))
	require.NoError(t, err)
	redistest.WaitFor(t, 30*time.Second, "the malformed task to be archived", func() bool {
		info, err := e.inspector(t).GetTaskInfo(e.queue, "malformed:0")
		return err == nil && info.State == asynq.TaskStateArchived
	})

	var mfs map[string]*dto.MetricFamily
	redistest.WaitFor(t, 10*time.Second, "the failure in /metrics", func() bool {
		mfs = scrape(t, u)
		return sample(t, mfs, "bitqueue_batches_failed_total", "reason", "malformed") == 1
	})
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"bitqueue_batches_processed_total", nil, 13},
		{"bitqueue_integers_converted_total", nil, 12_345},
		{"bitqueue_cache_misses_total", nil, float64(misses)},
		{"bitqueue_batches_failed_total", []string{"reason", "malformed"}, 1},
		{"bitqueue_batches_failed_total", []string{"reason", "store"}, 0},
		{"bitqueue_batch_duration_seconds", nil, 14}, // the malformed task too
		{"bitqueue_result_write_duration_seconds", nil, 13},
		{"bitqueue_cache_entries", nil, 1 << cacheBits},
		{"bitqueue_cache_bytes", nil, cache.EntryBytes << cacheBits},
		{"bitqueue_ready", nil, 1},
		{"bitqueue_batches_in_flight", nil, 0},
	} {
		require.Equal(t, c.want, sample(t, mfs, c.name, c.labels...), "%s%v", c.name, c.labels)
	}
	requireNoQueueSeries(t, mfs)
	writes := mfs["bitqueue_result_write_batches"].GetMetric()[0].GetHistogram()
	require.EqualValues(t, 13, writes.GetSampleSum(), "every stored batch, in some write")
	require.LessOrEqual(t, writes.GetSampleCount(), uint64(13), "a write carries one batch or more")
	require.Positive(t, writes.GetSampleCount())

	// The queue-level metrics come from the exporter, one per fleet.
	qmfs := scrape(t, startExporter(t, e))
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"bitqueue_queue_tasks", []string{"queue", e.queue, "state", "archived"}, 1},
		{"bitqueue_queue_tasks", []string{"queue", e.queue, "state", "pending"}, 0},
		{"bitqueue_queue_tasks", []string{"queue", e.queue, "state", "active"}, 0},
		{"bitqueue_queue_tasks", []string{"queue", e.queue, "state", "retry"}, 0},
		{"bitqueue_queue_processed_total", []string{"queue", e.queue}, 14},
		{"bitqueue_queue_failed_total", []string{"queue", e.queue}, 1},
		{"bitqueue_queue_inspect_success", nil, 1},
		{"bitqueue_workers", nil, 1},
	} {
		require.Equal(t, c.want, sample(t, qmfs, c.name, c.labels...), "exporter: %s%v", c.name, c.labels)
	}
	require.NotContains(t, qmfs, "bitqueue_batches_processed_total", "the exporter has no worker metrics")
	for name, typ := range map[string]dto.MetricType{
		"bitqueue_queue_tasks": dto.MetricType_GAUGE,
		"bitqueue_workers":     dto.MetricType_GAUGE,
	} {
		require.Equal(t, typ, qmfs[name].GetType(), name)
	}
	require.Positive(t, sample(t, mfs, "bitqueue_cache_build_duration_seconds"))
	for name, typ := range map[string]dto.MetricType{
		"bitqueue_batches_processed_total":       dto.MetricType_COUNTER,
		"bitqueue_batch_duration_seconds":        dto.MetricType_HISTOGRAM,
		"bitqueue_result_write_duration_seconds": dto.MetricType_HISTOGRAM,
	} {
		require.Equal(t, typ, mfs[name].GetType(), name)
	}
	for name := range mfs {
		if !strings.HasPrefix(name, "bitqueue_") {
			continue
		}
		require.Equal(t, mfs[name].GetType() == dto.MetricType_COUNTER, strings.HasSuffix(name, "_total"), "%s: _total if and only if a counter", name)
	}
	require.Contains(t, mfs, "go_goroutines", "Go runtime metrics")
	require.Contains(t, mfs, "process_resident_memory_bytes", "process metrics")
}

// inspectRun runs `producer <cmd>` (status or requeue) on e.
func inspectRun(t *testing.T, e env, cmd string, args ...string) result {
	t.Helper()
	args = append([]string{cmd, "-redis", e.URL, "-prefix", e.prefix}, args...)
	return runCmd(t, exec.Command(filepath.Join(bin, "producer"), args...))
}

// statusOf is the part of `producer status --json` the tests read.
type statusOf struct {
	RunID     string   `json:"run_id"`
	Queue     string   `json:"queue"`
	Batches   int      `json:"batches"`
	Integers  int      `json:"integers"`
	Done      int      `json:"done"`
	Pending   int      `json:"pending"`
	Failed    int      `json:"failed"`
	Lost      int      `json:"lost"`
	FailedIDs []string `json:"failed_ids"`
	Totals    struct {
		Pending  int `json:"pending"`
		Archived int `json:"archived"`
		Workers  int `json:"workers"`
	} `json:"queue_totals"`
}

func statusJSON(t *testing.T, e env, runID string) (statusOf, int) {
	t.Helper()
	r := inspectRun(t, e, "status", "-run-id", runID, "-json")
	var s statusOf
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &s), "status --json output: %s\nstderr: %s", r.stdout, r.stderr)
	return s, r.code
}

// TestStatusAndRequeue follows a run with a permanently failed batch through
// `producer status` and `producer requeue` until every batch is done.
func TestStatusAndRequeue(t *testing.T) {
	t.Parallel()
	e := setup(t)
	const runID = "ops-run"
	r := produceOK(t, e, "-count", "5000", "-batch-size", "1000", "-run-id", runID)
	require.NoError(t, e.inspector(t).ArchiveTask(e.queue, runID+":2"), "make batch 2 fail permanently")

	st := inspectRun(t, e, "status", "-run-id", runID)
	require.Equal(t, 1, st.code, "status exits 1 while a batch has failed: %s", st.stderr)
	require.Contains(t, st.stdout, "run "+runID+" on queue "+e.queue+": 5 batches, 5000 integers")
	require.Regexp(t, `done +0\n`, st.stdout)
	require.Regexp(t, `pending +4 \(active 0, retry 0, scheduled 0\)\n`, st.stdout)
	require.Regexp(t, `failed +1: `+runID+`:2\n`, st.stdout)
	require.Contains(t, st.stdout, "archived 1")
	require.Contains(t, st.stderr, "producer requeue --run-id "+runID)

	s, code := statusJSON(t, e, runID)
	require.Equal(t, 1, code)
	require.Equal(t, []any{runID, e.queue, 5, 5000}, []any{s.RunID, s.Queue, s.Batches, s.Integers})
	require.Equal(t, []int{0, 4, 1, 0}, []int{s.Done, s.Pending, s.Failed, s.Lost}, "done, pending, failed, lost")
	require.Equal(t, []string{runID + ":2"}, s.FailedIDs)
	require.Equal(t, 4, s.Totals.Pending)
	require.Equal(t, 1, s.Totals.Archived)
	require.Zero(t, s.Totals.Workers)

	startWorker(t, e)
	redistest.WaitFor(t, time.Minute, "the four other batches", func() bool {
		n, err := e.Client.Exists(context.Background(), e.prefix+":result:"+runID+":0", e.prefix+":result:"+runID+":1",
			e.prefix+":result:"+runID+":3", e.prefix+":result:"+runID+":4").Result()
		return err == nil && n == 4
	})
	s, code = statusJSON(t, e, runID)
	require.Equal(t, 1, code)
	require.Equal(t, []int{4, 0, 1, 0}, []int{s.Done, s.Pending, s.Failed, s.Lost}, "done, pending, failed, lost")
	require.Equal(t, 1, s.Totals.Workers)

	rq := inspectRun(t, e, "requeue", "-run-id", runID)
	require.Equal(t, 0, rq.code, rq.stderr)
	require.Contains(t, rq.stdout, "requeued 1 failed batch(es) on queue "+e.queue+": "+runID+":2")
	redistest.WaitFor(t, time.Minute, "batch 2 after its requeue", func() bool {
		n, err := e.Client.Exists(context.Background(), e.prefix+":result:"+runID+":2").Result()
		return err == nil && n == 1
	})
	st = inspectRun(t, e, "status", "-run-id", runID)
	require.Equal(t, 0, st.code, "status of a complete run: %s", st.stderr)
	require.Regexp(t, `done +5\n`, st.stdout)
	rq = inspectRun(t, e, "requeue", "-run-id", runID, "-json")
	require.Equal(t, 0, rq.code, rq.stderr)
	require.JSONEq(t, fmt.Sprintf(`{"run_id":%q,"queue":%q,"requeued":[],"lost":0,"enqueued_lost":[]}`, runID, e.queue), rq.stdout)

	// The producer's own wait agrees: the run is complete.
	again := produce(t, e, "-count", "5000", "-batch-size", "1000", "-run-id", runID, "-wait", "-timeout", "1m")
	require.Equal(t, 0, again.code, again.stderr)

	// Errors scripts must see.
	for _, c := range []struct {
		name string
		cmd  string
		args []string
		code int
		want string
	}{
		{"unknown run", "status", []string{"-run-id", "no-such-run"}, 1, "unknown run"},
		{"unknown run, requeue", "requeue", []string{"-run-id", "no-such-run"}, 1, "unknown run"},
		{"no run id", "status", nil, 2, "--run-id is required"},
		{"bad run id", "requeue", []string{"-run-id", "a b"}, 2, "--run-id"},
		{"stray argument", "status", []string{"-run-id", runID, "extra"}, 2, "unexpected argument"},
	} {
		r := inspectRun(t, e, c.cmd, c.args...)
		require.Equal(t, c.code, r.code, "%s: %s", c.name, r.stderr)
		require.Contains(t, r.stderr, c.want, c.name)
	}
	down := env{Redis: &redistest.Redis{URL: "redis://127.0.0.1:" + strconv.Itoa(redistest.FreePortT(t)) + "/0"}, prefix: e.prefix}
	r = inspectRun(t, down, "status", "-run-id", runID, "-redis-wait", "300ms")
	require.Equal(t, 1, r.code, "Redis unreachable: %s", r.stderr)
	require.Contains(t, r.stderr, "did not answer")
}

// TestPasswordsNeverShown runs a worker, the producer, status and requeue
// against a Redis that requires a password, then with a wrong one, and
// checks that neither password shows in any output, log or /readyz reason.
func TestPasswordsNeverShown(t *testing.T) {
	t.Parallel()
	const password, wrong = "pw-Sup3rSecret-42", "pw-Wr0ngGuess-17"
	r := newOwnRedis(t, password)
	r.start()
	client := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", r.port), Password: password})
	t.Cleanup(func() { client.Close() })
	e := env{Redis: &redistest.Redis{URL: r.url(password), Client: client}, queue: "ops-secret", prefix: "bqsecret"}

	w := spawnBin(t, "worker", "-redis", e.URL, "-queue", e.queue, "-prefix", e.prefix,
		"-http-addr", "127.0.0.1:0", "-log-format", "json", "-log-level", "debug")
	u := opsURL(t, w)
	waitStatus(t, u+"/readyz", http.StatusOK, "ready", 30*time.Second)
	run := produce(t, e, "-count", "3000", "-batch-size", "1000", "-run-id", "secret-run", "-wait", "-timeout", "1m", "-log-format", "json")
	require.Equal(t, 0, run.code, run.stderr)
	requireJSONLines(t, run.stderr)
	st := inspectRun(t, e, "status", "-run-id", "secret-run", "-log-format", "json")
	require.Equal(t, 0, st.code, st.stderr)
	rq := inspectRun(t, e, "requeue", "-run-id", "secret-run")
	require.Equal(t, 0, rq.code, rq.stderr)
	require.Equal(t, 0, w.stop(t, syscall.SIGTERM))
	lines := requireJSONLines(t, w.Logs())
	batchLines := 0
	for _, l := range lines {
		if l["msg"] == "batch done" {
			batchLines++
		}
	}
	require.Equal(t, 3, batchLines, "one debug line per batch")
	require.Contains(t, w.Logs(), `"redis":"redis://:xxxxx@127.0.0.1:`, "the URL is logged redacted")

	// A wrong password: the worker waits, then gives up; the producer and
	// status give up; none shows it.
	bad := env{Redis: &redistest.Redis{URL: r.url(wrong)}, queue: e.queue, prefix: e.prefix}
	wb := spawnBin(t, "worker", "-redis", bad.URL, "-queue", e.queue, "-prefix", e.prefix,
		"-http-addr", "127.0.0.1:0", "-redis-wait", "3s", "-log-format", "json")
	badBase := opsURL(t, wb)
	_, reason := httpGet(t, badBase+"/readyz")
	require.Equal(t, 1, wb.exitCode(t, 30*time.Second), "a worker whose password is refused exits 1")
	pr := produce(t, bad, "-count", "10", "-redis-wait", "1s")
	require.Equal(t, 1, pr.code, pr.stderr)
	require.Contains(t, pr.stderr, "redis://:xxxxx@")
	sb := inspectRun(t, bad, "status", "-run-id", "secret-run", "-redis-wait", "1s")
	require.Equal(t, 1, sb.code, sb.stderr)

	for what, out := range map[string]string{
		"worker logs": w.Logs(), "producer": run.stdout + run.stderr, "status": st.stdout + st.stderr,
		"requeue": rq.stdout + rq.stderr, "refused worker logs": wb.Logs(), "refused /readyz": reason,
		"refused producer": pr.stdout + pr.stderr, "refused status": sb.stdout + sb.stderr,
	} {
		require.NotContains(t, out, password, what)
		require.NotContains(t, out, wrong, what)
	}
}
