package e2e

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"bitqueue/redistest"
)

// uiAddrRE matches the exporter's log line saying where its web UI listens.
var uiAddrRE = regexp.MustCompile(`msg="http listening" addr=(\S+) paths="asynqmon`)

// startUI starts an exporter of e's queue serving its web UI on a free
// loopback port, with args, and returns the process and the UI's base URL.
func startUI(t *testing.T, e env, args ...string) (*proc, string) {
	t.Helper()
	args = append([]string{"-redis", e.URL, "-queue", e.queue, "-http-addr", "127.0.0.1:0", "-ui-addr", "127.0.0.1:0"}, args...)
	p := spawnBin(t, "exporter", args...)
	var addr string
	redistest.WaitFor(t, 30*time.Second, "the exporter's web UI", func() bool {
		m := uiAddrRE.FindStringSubmatch(p.Logs())
		if m != nil {
			addr = m[1]
		}
		return m != nil || !p.alive()
	})
	require.NotEmpty(t, addr, "the exporter exited:\n%s", p.Logs())
	return p, "http://" + addr
}

// uiTask is a task as asynqmon's API lists it.
type uiTask struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Payload string `json:"payload"`
	Result  string `json:"result"`
}

// uiTasks returns the tasks of queue in state (pending, completed, …) that
// the web UI at ui lists, by id.
func uiTasks(t *testing.T, ui, queue, state string) map[string]uiTask {
	t.Helper()
	code, body := httpGet(t, ui+"/api/queues/"+url.PathEscape(queue)+"/"+state+"_tasks?page_size=100")
	require.Equal(t, http.StatusOK, code, body)
	var list struct {
		Tasks []uiTask `json:"tasks"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &list), body)
	tasks := map[string]uiTask{}
	for _, tk := range list.Tasks {
		tasks[tk.ID] = tk
	}
	return tasks
}

// uiDo sends a request of method to url, as the UI's buttons do, and
// returns the status and body of the answer.
func uiDo(t *testing.T, method, url string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// countingInput returns the integers 0..n-1, as a file for --input.
func countingInput(t *testing.T, n int) string {
	t.Helper()
	nums := make([]uint64, n)
	for i := range nums {
		nums[i] = uint64(i)
	}
	return writeInput(t, nums)
}

// TestUIShowsBatchesReadable enqueues a run with no worker to take it and
// reads its pending batches through the exporter's web UI: each payload
// reads "run R seq S: N ints (max width W)", under the task id asynq has
// always had, <run-id>:<seq>.
func TestUIShowsBatchesReadable(t *testing.T) {
	t.Parallel()
	e := setup(t)
	// 0..2499 in batches of 1000: the largest integers are 999, 1999 and
	// 2499, of 10, 11 and 12 bits.
	produceOK(t, e, "-input", countingInput(t, 2500), "-batch-size", "1000", "-run-id", "ui-run")
	_, ui := startUI(t, e)

	tasks := uiTasks(t, ui, e.queue, "pending")
	payloads := map[string]string{}
	for id, tk := range tasks {
		require.Equal(t, "bits:convert", tk.Type, id)
		payloads[id] = tk.Payload
	}
	require.Equal(t, map[string]string{
		"ui-run:0": "run ui-run seq 0: 1000 ints (max width 10)",
		"ui-run:1": "run ui-run seq 1: 1000 ints (max width 11)",
		"ui-run:2": "run ui-run seq 2: 500 ints (max width 12)",
	}, payloads)

	pending, err := e.inspector(t).ListPendingTasks(e.queue)
	require.NoError(t, err)
	var ids []string
	for _, info := range pending {
		ids = append(ids, info.ID)
	}
	require.ElementsMatch(t, []string{"ui-run:0", "ui-run:1", "ui-run:2"}, ids, "asynq's own task ids, as its CLI shows them")

	code, body := httpGet(t, ui+"/api/queues/"+e.queue+"/tasks/ui-run:1")
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, `"payload":"run ui-run seq 1: 1000 ints (max width 11)"`, "a task's own page")
	code, body = httpGet(t, ui+"/")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, `<div id="root">`, "the UI's page")
}

// TestUIReadOnlyRefusesChanges checks that --ui-read-only lets the UI list
// tasks but refuses what would change a queue, which a writable UI does.
func TestUIReadOnlyRefusesChanges(t *testing.T) {
	t.Parallel()
	e := setup(t)
	produceOK(t, e, "-input", countingInput(t, 20), "-batch-size", "10", "-run-id", "ro-run")
	_, ro := startUI(t, e, "-ui-read-only")

	require.Len(t, uiTasks(t, ro, e.queue, "pending"), 2, "a read-only UI still shows")
	for _, c := range []struct{ method, path string }{
		{http.MethodPost, "/api/queues/" + e.queue + ":pause"},
		{http.MethodDelete, "/api/queues/" + e.queue + "/pending_tasks/ro-run:0"},
		{http.MethodPost, "/api/queues/" + e.queue + "/pending_tasks:archive_all"},
		{http.MethodDelete, "/api/queues/" + e.queue + "?force=true"},
	} {
		code, body := uiDo(t, c.method, ro+c.path)
		require.Equal(t, http.StatusMethodNotAllowed, code, "%s %s: %s", c.method, c.path, body)
		require.Contains(t, body, "read-only mode")
	}
	info, err := e.inspector(t).GetQueueInfo(e.queue)
	require.NoError(t, err)
	require.False(t, info.Paused)
	require.Equal(t, 2, info.Pending, "no batch deleted or archived")

	_, rw := startUI(t, e)
	code, body := uiDo(t, http.MethodPost, rw+"/api/queues/"+e.queue+":pause")
	require.Equal(t, http.StatusNoContent, code, body)
	info, err = e.inspector(t).GetQueueInfo(e.queue)
	require.NoError(t, err)
	require.True(t, info.Paused, "a writable UI pauses the queue")
}

// TestUIShowsWhereResultsAre runs batches whose tasks asynq keeps
// (--retention) and checks that the UI says where their results are, not
// "non-printable bytes": a worker stores a result in bitqueue's result
// hash, never on the task.
func TestUIShowsWhereResultsAre(t *testing.T) {
	t.Parallel()
	e := setup(t)
	startWorker(t, e, "-cache-bits", "10")
	produceOK(t, e, "-input", countingInput(t, 20), "-batch-size", "10", "-run-id", "kept", "-retention", "1h", "-wait", "-timeout", "1m")
	_, ui := startUI(t, e)

	tasks := uiTasks(t, ui, e.queue, "completed")
	require.Len(t, tasks, 2)
	for id, tk := range tasks {
		require.Equal(t, "in bitqueue's result hash: producer results --run-id <run>", tk.Result, id)
		require.Contains(t, tk.Payload, "run kept seq ", id)
	}

	// The other pages asynqmon reads work on asynq v0.26 too: the worker
	// shows among the servers, serving the queue.
	for _, path := range []string{"/api/queues", "/api/queue_stats", "/api/servers", "/api/scheduler_entries", "/api/redis_info", "/api/queues/" + e.queue + "/groups"} {
		// On a Redis shared with other tests, a queue they remove between
		// asynqmon's listing and its lookup makes one answer fail.
		var code int
		var body string
		require.NoError(t, redistest.Await(10*time.Second, path+" answering 200", func() bool {
			code, body = httpGet(t, ui+path)
			return code == http.StatusOK
		}), "%s: %d %s", path, code, body)
	}
	var servers struct {
		Servers []struct {
			PID    int            `json:"pid"`
			Queues map[string]int `json:"queue_priorities"`
		} `json:"servers"`
	}
	_, body := httpGet(t, ui+"/api/servers")
	require.NoError(t, json.Unmarshal([]byte(body), &servers), body)
	// A shared Redis may hold other tests' workers; the worker's dequeue
	// loops running then are asynq servers of the one process.
	serving := map[int]bool{}
	for _, s := range servers.Servers {
		if _, ok := s.Queues[e.queue]; ok {
			serving[s.PID] = true
		}
	}
	require.Len(t, serving, 1, "worker processes serving %s: %s", e.queue, body)
}

// TestUIMetricsTabFromPrometheus runs a Prometheus that scrapes the
// exporter, and checks that every query of the web UI's metrics tab
// (--ui-prometheus) has a series of the queue: the exporter serves asynq's
// own metric names.
func TestUIMetricsTabFromPrometheus(t *testing.T) {
	t.Parallel()
	e := setup(t)
	produceOK(t, e, "-input", countingInput(t, 30), "-batch-size", "10", "-run-id", "tab")
	promAddr := fmt.Sprintf("127.0.0.1:%d", redistest.FreePortT(t))
	exporter, ui := startUI(t, e, "-ui-prometheus", "http://"+promAddr)
	metrics, err := url.Parse(opsURL(t, exporter)) // its first "http listening": /metrics
	require.NoError(t, err)
	startPrometheusAt(t, promAddr, []scrapeJob{{name: "bitqueue-exporter", targets: []string{metrics.Host}}})

	// Each field of the answer is Prometheus's answer to one query.
	type series struct {
		Metric map[string]string `json:"metric"`
		Values [][2]any          `json:"values"`
	}
	var tab map[string]struct {
		Status string `json:"status"`
		Data   struct {
			Result []series `json:"result"`
		} `json:"data"`
	}
	var missing []string
	err = redistest.Await(60*time.Second, "a series of the queue for every query of the metrics tab", func() bool {
		code, body := httpGet(t, ui+"/api/metrics?duration=300&queues="+e.queue)
		require.Equal(t, http.StatusOK, code, body)
		require.NoError(t, json.Unmarshal([]byte(body), &tab), body)
		missing = nil
		for query, answer := range tab {
			require.Equal(t, "success", answer.Status, "%s: %s", query, body)
			found := false
			for _, s := range answer.Data.Result {
				found = found || (s.Metric["queue"] == e.queue && len(s.Values) > 0)
			}
			if !found {
				missing = append(missing, query)
			}
		}
		return len(tab) == 9 && len(missing) == 0
	})
	require.NoError(t, err, "queries without a series of %s: %v", e.queue, missing)
	last := func(query string) string {
		vs := tab[query].Data.Result[0].Values
		return fmt.Sprint(vs[len(vs)-1][1])
	}
	require.Equal(t, "3", last("queue_size"), "three pending batches")
	require.Equal(t, "3", last("pending_tasks_by_queue"))
	require.Equal(t, "0", last("archived_tasks_by_queue"))
}

// TestComposeServesTheExportersUI checks docker-compose.yml's monitoring
// profile: asynqmon is the exporter's web UI on loopback, its metrics tab
// on the compose Prometheus, which scrapes the exporter serving the series
// that tab asks for; no service runs asynqmon's own image.
func TestComposeServesTheExportersUI(t *testing.T) {
	t.Parallel()
	var compose struct {
		Services map[string]struct {
			Image       string            `yaml:"image"`
			Entrypoint  []string          `yaml:"entrypoint"`
			Environment map[string]string `yaml:"environment"`
			Ports       []string          `yaml:"ports"`
			Volumes     []string          `yaml:"volumes"`
			Profiles    []string          `yaml:"profiles"`
		} `yaml:"services"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(readRepoFile(t, "docker-compose.yml")), &compose))
	for name, s := range compose.Services {
		require.NotContains(t, s.Image, "asynqmon", "service %s: the exporter serves asynqmon", name)
	}
	ui := compose.Services["asynqmon"]
	require.Equal(t, []string{"/usr/local/bin/exporter"}, ui.Entrypoint)
	require.Equal(t, []string{"monitoring"}, ui.Profiles)
	require.Equal(t, ":8080", ui.Environment["BITQUEUE_UI_ADDR"])
	require.Equal(t, []string{"127.0.0.1:8081:8080"}, ui.Ports, "the UI on loopback, where asynqmon's image was")
	require.Equal(t, "http://prometheus:9090", ui.Environment["BITQUEUE_UI_PROMETHEUS"])

	var prom struct {
		ScrapeConfigs []struct {
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(readRepoFile(t, "deploy/prometheus.yml")), &prom))
	var targets []string
	for _, c := range prom.ScrapeConfigs {
		for _, s := range c.StaticConfigs {
			targets = append(targets, s.Targets...)
		}
	}
	require.Contains(t, targets, "exporter:9101", "the compose Prometheus scrapes the exporter, which serves asynq's metric names")
}

var uiScreenshot = flag.Bool("ui-screenshot", false, "take docs/img/asynqmon-pending.png anew with Debian's chromium (make ui-screenshot)")

// uiScreenshotPath is the picture of asynqmon that docs/operations.md shows,
// from this package's directory.
const uiScreenshotPath = "../docs/img/asynqmon-pending.png"

// TestUIScreenshot checks the picture of the web UI docs/operations.md
// shows: a PNG of a 1280x800 window, well under 1 MB. With -ui-screenshot
// (make ui-screenshot) it first takes it anew: a redis-server of its own, a
// run of 100 batches enqueued by the producer with no worker, the
// exporter's UI, and headless chromium on the queue's pending batches.
func TestUIScreenshot(t *testing.T) {
	t.Parallel()
	if *uiScreenshot {
		takeUIScreenshot(t)
	}
	f, err := os.Open(uiScreenshotPath)
	require.NoError(t, err, "run make ui-screenshot")
	defer f.Close()
	st, err := f.Stat()
	require.NoError(t, err)
	require.Less(t, st.Size(), int64(500_000), "%s: a screenshot of one page, well under 1 MB", uiScreenshotPath)
	cfg, err := png.DecodeConfig(f)
	require.NoError(t, err)
	require.Equal(t, [2]int{1280, 800}, [2]int{cfg.Width, cfg.Height})
	require.True(t, strings.Contains(readRepoFile(t, "docs/operations.md"), "](img/asynqmon-pending.png)"), "docs/operations.md shows the picture")
}

// takeUIScreenshot writes uiScreenshotPath: the pending batches of a run,
// as the exporter's web UI lists them, in a 1280x800 window.
func takeUIScreenshot(t *testing.T) {
	t.Helper()
	chromium, err := exec.LookPath("chromium")
	require.NoError(t, err, "the screenshot needs Debian's chromium: apt-get install -y chromium")
	srv, err := redistest.NewServer(redistest.Options{})
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	// A Redis of its own: the run on the default queue and prefix, as an
	// operator sees them.
	client := srv.Client()
	t.Cleanup(func() { client.Close() })
	e := env{Redis: &redistest.Redis{URL: srv.URL(), Client: client}, queue: "bits", prefix: "bitqueue"}
	// One enqueue at a time, so that the batches wait in seq order; a run id
	// without a dash, which asynqmon's id column would cut.
	produceOK(t, e, "-count", "100000", "-seed", "7", "-batch-size", "1000", "-run-id", "nightly", "-concurrency", "1")
	_, ui := startUI(t, e)
	out, err := filepath.Abs(uiScreenshotPath)
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Dir(out), 0o755))
	// As root, chromium runs only without its sandbox; the other switches
	// keep it off the network, which it would otherwise call at start.
	// The virtual time lets the page fetch its tasks and draw them.
	cmd := exec.Command(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
		"--user-data-dir="+t.TempDir(), "--virtual-time-budget=10000", "--window-size=1280,800",
		"--screenshot="+out, ui+"/queues/bits?status=pending")
	res := runCmd(t, cmd)
	require.Equal(t, 0, res.code, "chromium:\n%s", res.stderr)
	t.Logf("wrote %s", uiScreenshotPath)
}
