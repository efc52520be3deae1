package e2e

import (
	"compress/gzip"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"bitqueue/internal/base"
	"bitqueue/redistest"
)

// otlpSpan is one span an OTLP receiver was sent, with the resource of the
// process that sent it.
type otlpSpan struct {
	service, pid                  string
	traceID, spanID, parentSpanID string
	name                          string
	attrs                         map[string]string
}

// otlpReceiver is a real OTLP/HTTP collector endpoint, in the test's
// process: it decodes every export request (protobuf, gzipped or not) with
// OTLP's own message types and keeps its spans.
type otlpReceiver struct {
	*httptest.Server
	mu       sync.Mutex
	spans    []otlpSpan
	requests int
	headers  []http.Header // of each export request
}

// startReceiver starts an OTLP/HTTP receiver on a free loopback port,
// closed when the test ends.
func startReceiver(t *testing.T) *otlpReceiver {
	t.Helper()
	r := &otlpReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(r.export))
	t.Cleanup(r.Close)
	return r
}

func (r *otlpReceiver) export(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost || req.URL.Path != "/v1/traces" {
		http.Error(w, "not an OTLP traces export", http.StatusNotFound)
		return
	}
	if ct := req.Header.Get("Content-Type"); ct != "application/x-protobuf" {
		http.Error(w, "not an OTLP/HTTP protobuf body: "+ct, http.StatusUnsupportedMediaType)
		return
	}
	var body io.Reader = req.Body
	if req.Header.Get("Content-Encoding") == "gzip" {
		gz, err := gzip.NewReader(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = gz
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	resourceSpans, err := decodeExport(raw)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var got []otlpSpan
	for _, rs := range resourceSpans {
		res := attrMap(rs.GetResource().GetAttributes())
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				got = append(got, otlpSpan{
					service: res["service.name"], pid: res["process.pid"],
					traceID: hex.EncodeToString(s.GetTraceId()), spanID: hex.EncodeToString(s.GetSpanId()),
					parentSpanID: hex.EncodeToString(s.GetParentSpanId()), name: s.GetName(), attrs: attrMap(s.GetAttributes()),
				})
			}
		}
	}
	r.mu.Lock()
	r.spans = append(r.spans, got...)
	r.requests++
	r.headers = append(r.headers, req.Header.Clone())
	r.mu.Unlock()
	// An empty ExportTraceServiceResponse: a full success.
	w.Header().Set("Content-Type", "application/x-protobuf")
}

// decodeExport decodes an OTLP ExportTraceServiceRequest, whose one field is
// `repeated ResourceSpans resource_spans = 1`, without the collector package
// of OTLP's Go types (which would bring gRPC into the product's module).
func decodeExport(raw []byte) ([]*tracepb.ResourceSpans, error) {
	var out []*tracepb.ResourceSpans
	for len(raw) > 0 {
		num, typ, n := protowire.ConsumeTag(raw)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		raw = raw[n:]
		if num != 1 || typ != protowire.BytesType {
			// Unknown fields are skipped, as protobuf does.
			n = protowire.ConsumeFieldValue(num, typ, raw)
			if n < 0 {
				return nil, protowire.ParseError(n)
			}
			raw = raw[n:]
			continue
		}
		b, n := protowire.ConsumeBytes(raw)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		raw = raw[n:]
		rs := &tracepb.ResourceSpans{}
		if err := proto.Unmarshal(b, rs); err != nil {
			return nil, err
		}
		out = append(out, rs)
	}
	return out, nil
}

// attrMap returns OTLP attributes as text by key.
func attrMap(kvs []*commonpb.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		switch v := kv.GetValue().GetValue().(type) {
		case *commonpb.AnyValue_StringValue:
			m[kv.GetKey()] = v.StringValue
		case *commonpb.AnyValue_IntValue:
			m[kv.GetKey()] = strconv.FormatInt(v.IntValue, 10)
		case *commonpb.AnyValue_BoolValue:
			m[kv.GetKey()] = strconv.FormatBool(v.BoolValue)
		default:
			m[kv.GetKey()] = fmt.Sprint(kv.GetValue())
		}
	}
	return m
}

// received returns the spans received so far.
func (r *otlpReceiver) received() []otlpSpan {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]otlpSpan(nil), r.spans...)
}

// named returns the spans of spans called name.
func named(spans []otlpSpan, name string) []otlpSpan {
	var out []otlpSpan
	for _, s := range spans {
		if s.name == name {
			out = append(out, s)
		}
	}
	return out
}

// one returns the one span of spans called name, failing t unless there is
// exactly one.
func one(t *testing.T, spans []otlpSpan, name string) otlpSpan {
	t.Helper()
	got := named(spans, name)
	require.Len(t, got, 1, "spans named %q", name)
	return got[0]
}

// otelEnv returns the test process's environment without any OTEL_*
// variable, plus vars ("NAME=value").
func otelEnv(vars ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OTEL_") {
			env = append(env, kv)
		}
	}
	return append(env, vars...)
}

// startWorkerOTel starts a worker with the environment vars (otelEnv) on
// e's Redis and prefix, serving the queues of args (e's queue when args
// name none), and waits until it serves.
func startWorkerOTel(t *testing.T, e env, vars []string, args ...string) *proc {
	t.Helper()
	if !strings.Contains(strings.Join(args, " "), "-queue") {
		args = append(args, "-queue", e.queue)
	}
	cmd := exec.Command(filepath.Join(bin, "worker"), append([]string{"-redis", e.URL, "-prefix", e.prefix, "-log-level", "debug"}, args...)...)
	cmd.Env = vars
	return spawnUntil(t, cmd, 30*time.Second, "msg=serving")
}

// produceOTel runs the producer with the environment vars (otelEnv) on e's
// queue and prefix.
func produceOTel(t *testing.T, e env, vars []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(filepath.Join(bin, "producer"), append([]string{"-redis", e.URL, "-queue", e.queue, "-prefix", e.prefix}, args...)...)
	cmd.Env = vars
	return runCmd(t, cmd)
}

// TestTracesFollowBatchesAcrossProcesses runs one producer and two workers
// with tracing on, each worker serving one of the run's two shards so that
// both take part: the producer's run, its enqueue and every batch a worker
// processed, with its decode, convert and save, are spans of one trace,
// sent by three processes under their service names; each batch is under
// the enqueue, and each step under its batch.
func TestTracesFollowBatchesAcrossProcesses(t *testing.T) {
	t.Parallel()
	e := setup(t)
	rcv := startReceiver(t)
	const runID, count, batch, batches = "traced", 20000, 500, 40
	endpoint := "OTEL_EXPORTER_OTLP_ENDPOINT=" + rcv.URL
	shards := base.Queues(e.queue, 2)
	w0 := startWorkerOTel(t, e, otelEnv(endpoint), "-queue", shards[0])
	w1 := startWorkerOTel(t, e, otelEnv(endpoint, "OTEL_SERVICE_NAME=worker-b"), "-queue", shards[1])

	res := produceOTel(t, e, otelEnv(endpoint), "-count", strconv.Itoa(count), "-batch-size", strconv.Itoa(batch),
		"-shards", "2", "-run-id", runID, "-wait")
	require.Equal(t, 0, res.code, "stderr:\n%s", res.stderr)
	// The workers send their last spans as they stop.
	for _, w := range []*proc{w0, w1} {
		require.Equal(t, 0, w.stop(t, syscall.SIGTERM), "logs:\n%s", w.Logs())
	}

	spans := rcv.received()
	run := one(t, spans, "producer run")
	require.Equal(t, "producer", run.service, "OTEL_SERVICE_NAME defaults to the command's name")
	require.Empty(t, run.parentSpanID, "a run is the root of its trace")
	require.Equal(t, map[string]string{"bitqueue.run_id": runID, "bitqueue.batches": strconv.Itoa(batches), "bitqueue.integers": strconv.Itoa(count)}, run.attrs)
	enq := one(t, spans, "enqueue")
	require.Equal(t, run.traceID, enq.traceID)
	require.Equal(t, run.spanID, enq.parentSpanID, "the enqueue is a step of the run")
	require.Equal(t, strconv.Itoa(batches), enq.attrs["bitqueue.enqueued"])
	wait := one(t, spans, "wait")
	require.Equal(t, run.spanID, wait.parentSpanID)

	children := map[string][]string{} // span id → names of its children
	for _, s := range spans {
		children[s.parentSpanID] = append(children[s.parentSpanID], s.name)
	}
	bySeq := map[string]otlpSpan{}
	perService := map[string]int{}
	for _, s := range named(spans, "process batch") {
		require.Equal(t, run.traceID, s.traceID, "batch %s is in the run's trace", s.attrs["bitqueue.seq"])
		require.Equal(t, enq.spanID, s.parentSpanID, "batch %s is under the enqueue", s.attrs["bitqueue.seq"])
		require.Equal(t, runID, s.attrs["bitqueue.run_id"])
		require.NotContains(t, bySeq, s.attrs["bitqueue.seq"], "batch %s traced once", s.attrs["bitqueue.seq"])
		bySeq[s.attrs["bitqueue.seq"]] = s
		require.ElementsMatch(t, []string{"decode", "convert", "save"}, children[s.spanID], "the steps of batch %s", s.attrs["bitqueue.seq"])
		perService[s.service]++
	}
	require.Len(t, bySeq, batches, "every batch is a span")
	for seq := range uint64(batches) {
		s, ok := bySeq[strconv.FormatUint(seq, 10)]
		require.True(t, ok, "no span of batch %d", seq)
		want := "worker"
		if base.QueueOf(e.queue, 2, base.TaskID(runID, seq)) == shards[1] {
			want = "worker-b"
		}
		require.Equal(t, want, s.service, "batch %d went to %s's shard", seq, want)
		require.Equal(t, base.TaskID(runID, seq), s.attrs["messaging.message.id"])
	}
	require.Positive(t, perService["worker"], "spans of the first worker")
	require.Positive(t, perService["worker-b"], "spans of the second worker")
	pids := map[string]bool{}
	for _, s := range spans {
		pids[s.pid] = true
	}
	require.Len(t, pids, 3, "spans of three processes")
}

// TestTracingOffSendsNothing runs a traced producer and a worker whose
// tracing is off (OTEL_TRACES_EXPORTER=none, though an endpoint is set):
// the run completes, and the receiver gets the producer's spans and not
// one from the worker.
func TestTracingOffSendsNothing(t *testing.T) {
	t.Parallel()
	e := setup(t)
	rcv := startReceiver(t)
	endpoint := "OTEL_EXPORTER_OTLP_ENDPOINT=" + rcv.URL
	w := startWorkerOTel(t, e, otelEnv(endpoint, "OTEL_TRACES_EXPORTER=none", "OTEL_SERVICE_NAME=worker-off"))
	require.NotContains(t, w.Logs(), "msg=tracing", "the worker sets no tracing up")

	res := produceOTel(t, e, otelEnv(endpoint), "-count", "2000", "-batch-size", "500", "-run-id", "untraced-worker", "-wait")
	require.Equal(t, 0, res.code, "stderr:\n%s", res.stderr)
	require.Equal(t, 0, w.stop(t, syscall.SIGTERM), "logs:\n%s", w.Logs())

	spans := rcv.received()
	one(t, spans, "producer run") // the receiver works
	for _, s := range spans {
		require.Equal(t, "producer", s.service, "span %q sent by a process with tracing off", s.name)
	}
	require.Empty(t, named(spans, "process batch"))
}

// traceparentRE matches a W3C traceparent header of a sampled span.
var traceparentRE = regexp.MustCompile(`^00-([0-9a-f]{32})-([0-9a-f]{16})-01$`)

// TestTaskHeadersOnlyWhenTracing enqueues a run with tracing off and one
// with tracing on, with no worker, and reads their tasks back from Redis:
// off, a task has no headers at all, as before tracing existed; on, each
// carries the traceparent of the producer's enqueue span.
func TestTaskHeadersOnlyWhenTracing(t *testing.T) {
	t.Parallel()
	e := setup(t)
	rcv := startReceiver(t)
	res := produceOTel(t, e, otelEnv(), "-count", "1000", "-batch-size", "500", "-run-id", "plain")
	require.Equal(t, 0, res.code, "stderr:\n%s", res.stderr)
	res = produceOTel(t, e, otelEnv("OTEL_TRACES_EXPORTER=otlp", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="+rcv.URL+"/v1/traces"),
		"-count", "1000", "-batch-size", "500", "-run-id", "traced")
	require.Equal(t, 0, res.code, "stderr:\n%s", res.stderr)
	enq := one(t, rcv.received(), "enqueue")

	pending, err := e.inspector(t).ListPendingTasks(e.queue)
	require.NoError(t, err)
	require.Len(t, pending, 4)
	for _, task := range pending {
		runID, _, ok := strings.Cut(task.ID, ":")
		require.True(t, ok, task.ID)
		if runID == "plain" {
			require.Empty(t, task.Headers, "task %s of a run with tracing off", task.ID)
			continue
		}
		require.Len(t, task.Headers, 1, "task %s: %v", task.ID, task.Headers)
		m := traceparentRE.FindStringSubmatch(task.Headers["traceparent"])
		require.NotNil(t, m, "task %s: traceparent %q", task.ID, task.Headers["traceparent"])
		require.Equal(t, enq.traceID, m[1], "task %s is in the run's trace", task.ID)
		require.Equal(t, enq.spanID, m[2], "task %s is a child of the enqueue", task.ID)
	}
}

// TestScheduledTicksTraceOfTheirOwn runs a traced `producer --schedule`
// and a traced worker: each tick is the root of a trace of its own, and the
// batches of a tick are spans of its trace.
func TestScheduledTicksTraceOfTheirOwn(t *testing.T) {
	t.Parallel()
	e := setup(t)
	insp := e.inspector(t)
	t.Cleanup(func() { _, _ = insp.DeleteAllCompletedTasks(e.queue) }) // runs before the namespace's cleanup
	rcv := startReceiver(t)
	endpoint := "OTEL_EXPORTER_OTLP_ENDPOINT=" + rcv.URL
	w := startWorkerOTel(t, e, otelEnv(endpoint))
	name := "traced-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	cmd := exec.Command(filepath.Join(bin, "producer"), "-redis", e.URL, "-queue", e.queue, "-prefix", e.prefix,
		"-schedule", "@every 1s", "-name", name, "-catch-up", "0", "-count", "1000", "-batch-size", "500", "-retention", "10m")
	cmd.Env = otelEnv(endpoint)
	sched := spawnUntil(t, cmd, 30*time.Second, "msg=schedule ")

	// Two ticks, and both batches of each stored.
	var ticks []schedTick
	redistest.WaitFor(t, 30*time.Second, "two ticks", func() bool {
		ticks = schedTicks(t, sched.Logs())
		return len(ticks) >= 2
	})
	ticks = ticks[:2]
	for _, tk := range ticks {
		redistest.WaitFor(t, 30*time.Second, "the results of "+tk.runID, func() bool {
			n, err := e.Client.Exists(context.Background(), base.ResultKey(e.prefix, tk.runID, 0), base.ResultKey(e.prefix, tk.runID, 1)).Result()
			return err == nil && n == 2
		})
	}
	require.Equal(t, 0, sched.stop(t, syscall.SIGTERM), "logs:\n%s", sched.Logs())
	require.Equal(t, 0, w.stop(t, syscall.SIGTERM), "logs:\n%s", w.Logs())

	spans := rcv.received()
	traces := map[string]string{} // run id → trace id
	for _, s := range named(spans, "producer tick") {
		require.Empty(t, s.parentSpanID, "tick %s is the root of its trace", s.attrs["bitqueue.run_id"])
		require.NotContains(t, traces, s.attrs["bitqueue.run_id"])
		traces[s.attrs["bitqueue.run_id"]] = s.traceID
	}
	require.NotEqual(t, traces[ticks[0].runID], traces[ticks[1].runID], "two ticks, two traces")
	for _, tk := range ticks {
		trace := traces[tk.runID]
		require.NotEmpty(t, trace, "no span of tick %s", tk.runID)
		var batches []string
		for _, s := range named(spans, "process batch") {
			if s.attrs["bitqueue.run_id"] == tk.runID {
				require.Equal(t, trace, s.traceID, "batch %s of %s is in its tick's trace", s.attrs["bitqueue.seq"], tk.runID)
				batches = append(batches, s.attrs["bitqueue.seq"])
			}
		}
		require.ElementsMatch(t, []string{"0", "1"}, batches, "the batches of %s", tk.runID)
	}
}

// TestTracingSettingsRefused gives the producer and the worker OTEL_*
// values bitqueue cannot use: each exits 2 at once, naming the variable
// and its value, before contacting Redis.
func TestTracingSettingsRefused(t *testing.T) {
	t.Parallel()
	url := nowhere(t)
	const on = "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318"
	tests := []struct {
		name    string
		vars    []string
		message string
	}{
		{"another exporter", []string{"OTEL_TRACES_EXPORTER=zipkin"}, "OTEL_TRACES_EXPORTER=zipkin: want otlp or none"},
		{"gRPC", []string{"OTEL_EXPORTER_OTLP_PROTOCOL=grpc"}, "OTEL_EXPORTER_OTLP_PROTOCOL=grpc: want http/protobuf: bitqueue sends OTLP as protobuf over HTTP"},
		{"no URL", []string{"OTEL_EXPORTER_OTLP_ENDPOINT=collector:4318"}, "OTEL_EXPORTER_OTLP_ENDPOINT=collector:4318: want an http:// or https:// URL such as http://localhost:4318"},
		{"timeout", []string{on, "OTEL_EXPORTER_OTLP_TIMEOUT=10s"}, "OTEL_EXPORTER_OTLP_TIMEOUT=10s: want a positive whole number of milliseconds such as 10000"},
		{"compression", []string{on, "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION=zstd"}, "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION=zstd: want gzip or none"},
		{"headers", []string{on, "OTEL_EXPORTER_OTLP_HEADERS=api-key=s3cret,Bearer s3cret"}, "OTEL_EXPORTER_OTLP_HEADERS=api-key=…,…: want key=value pairs separated by commas, values URL-encoded, such as api-key=secret,team=jobs%20queue: pair 2 has no ="},
	}
	for _, tt := range tests {
		for cmd, args := range map[string][]string{"producer": {"-count", "10"}, "worker": nil} {
			t.Run(tt.name+"/"+cmd, func(t *testing.T) {
				t.Parallel()
				c := exec.Command(filepath.Join(bin, cmd), append([]string{"-redis", url}, args...)...)
				c.Env = otelEnv(tt.vars...)
				requireRefused(t, cmd, runCmd(t, c), tt.message)
			})
		}
	}
}

// TestTracesSentWithExporterSettings runs a traced producer asking for
// gzip and headers (OTEL_EXPORTER_OTLP_COMPRESSION, _TRACES_HEADERS with a
// URL-encoded value): every export request the receiver gets is gzipped,
// carries the headers, and holds the run's spans.
func TestTracesSentWithExporterSettings(t *testing.T) {
	t.Parallel()
	e := setup(t)
	rcv := startReceiver(t)
	res := produceOTel(t, e, otelEnv("OTEL_EXPORTER_OTLP_ENDPOINT="+rcv.URL, "OTEL_EXPORTER_OTLP_COMPRESSION=gzip",
		"OTEL_EXPORTER_OTLP_TRACES_HEADERS=x-tenant=bit%20queue,Authorization=Bearer%20t0ken"),
		"-count", "1000", "-batch-size", "500", "-run-id", "gzipped")
	require.Equal(t, 0, res.code, "stderr:\n%s", res.stderr)

	run := one(t, rcv.received(), "producer run")
	require.Equal(t, "gzipped", run.attrs["bitqueue.run_id"])
	one(t, rcv.received(), "enqueue")
	rcv.mu.Lock()
	headers := append([]http.Header(nil), rcv.headers...)
	rcv.mu.Unlock()
	require.NotEmpty(t, headers)
	for _, h := range headers {
		require.Equal(t, "gzip", h.Get("Content-Encoding"))
		require.Equal(t, "bit queue", h.Get("X-Tenant"))
		require.Equal(t, "Bearer t0ken", h.Get("Authorization"))
	}
}
