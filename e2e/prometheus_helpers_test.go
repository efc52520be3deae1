package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"bitqueue/redistest"
)

// prometheusEnv makes the tests that run Prometheus's own binaries
// (prometheus, promtool: Debian's prometheus package) fail, rather than
// skip, when they are not installed; CI sets it to "require".
const prometheusEnv = "BITQUEUE_PROMETHEUS"

// needPrometheusBinary returns the path of name (prometheus or promtool),
// skipping t, saying why, when it is not installed, unless
// BITQUEUE_PROMETHEUS=require, where it fails t instead.
func needPrometheusBinary(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv(prometheusEnv) == "require" {
			t.Fatalf("%s is not installed (%v), and %s=require", name, err, prometheusEnv)
		}
		t.Skipf("%s is not installed: this test runs Prometheus's own %s (apt-get install prometheus; CI sets %s=require)", name, name, prometheusEnv)
	}
	return path
}

// promtool runs promtool with args and stdin, and returns its exit code and
// its output (stdout and stderr together).
func promtool(t *testing.T, stdin string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(needPrometheusBinary(t, "promtool"), args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			require.NoError(t, err, "run promtool")
		}
	}
	return cmd.ProcessState.ExitCode(), out.String()
}

// scrapeJob is one scrape job of a test's Prometheus: static targets
// (host:port) under a job name.
type scrapeJob struct {
	name    string
	targets []string
}

// promServer is a Prometheus server a test started, and its HTTP API.
type promServer struct {
	url string // base URL
}

// startPrometheus starts Debian's prometheus on a free loopback port, with
// its data in t's temporary directory, scraping jobs every second and
// evaluating the rule files every second, and waits until it is ready. It
// is killed when t ends.
func startPrometheus(t *testing.T, jobs []scrapeJob, ruleFiles ...string) *promServer {
	t.Helper()
	return startPrometheusAt(t, fmt.Sprintf("127.0.0.1:%d", redistest.FreePortT(t)), jobs, ruleFiles...)
}

// startPrometheusAt is startPrometheus listening on addr.
func startPrometheusAt(t *testing.T, addr string, jobs []scrapeJob, ruleFiles ...string) *promServer {
	t.Helper()
	bin := needPrometheusBinary(t, "prometheus")
	dir := t.TempDir()
	var scrapes []map[string]any
	for _, j := range jobs {
		scrapes = append(scrapes, map[string]any{
			"job_name":        j.name,
			"scrape_interval": "1s",
			"scrape_timeout":  "900ms",
			"static_configs":  []map[string]any{{"targets": j.targets}},
		})
	}
	config, err := yaml.Marshal(map[string]any{
		"global":         map[string]any{"scrape_interval": "1s", "evaluation_interval": "1s"},
		"rule_files":     ruleFiles,
		"scrape_configs": scrapes,
	})
	require.NoError(t, err)
	configFile := filepath.Join(dir, "prometheus.yml")
	require.NoError(t, os.WriteFile(configFile, config, 0o644))
	p := spawn(t, exec.Command(bin,
		"--config.file="+configFile,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--log.level=warn",
	))
	s := &promServer{url: "http://" + addr}
	redistest.WaitFor(t, time.Minute, "prometheus to be ready", func() bool {
		require.True(t, p.alive(), "prometheus exited:\n%s", p.LogBuffer().Tail(40))
		code, _ := httpGet(t, s.url+"/-/ready")
		return code == http.StatusOK
	})
	return s
}

// promAlert is an alert as Prometheus's /api/v1/alerts lists it.
type promAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	State       string            `json:"state"` // pending or firing
}

// alerts returns the alerts s lists now, pending and firing.
func (s *promServer) alerts(t *testing.T) []promAlert {
	t.Helper()
	var resp struct {
		Status string `json:"status"`
		Data   struct {
			Alerts []promAlert `json:"alerts"`
		} `json:"data"`
	}
	s.get(t, "/api/v1/alerts", &resp)
	require.Equal(t, "success", resp.Status)
	return resp.Data.Alerts
}

// firing returns the alerts named name that fire now.
func (s *promServer) firing(t *testing.T, name string) []promAlert {
	t.Helper()
	var out []promAlert
	for _, a := range s.alerts(t) {
		if a.Labels["alertname"] == name && a.State == "firing" {
			out = append(out, a)
		}
	}
	return out
}

// waitFiring waits up to timeout until an alert named name fires with
// labels among its own, and returns it.
func (s *promServer) waitFiring(t *testing.T, name string, labels map[string]string, timeout time.Duration) promAlert {
	t.Helper()
	var found promAlert
	redistest.WaitFor(t, timeout, fmt.Sprintf("alert %s%v to fire", name, labels), func() bool {
		for _, a := range s.firing(t, name) {
			match := true
			for k, v := range labels {
				match = match && a.Labels[k] == v
			}
			if match {
				found = a
				return true
			}
		}
		return false
	})
	return found
}

// query evaluates expr now and returns the label sets of its series.
func (s *promServer) query(t *testing.T, expr string) []map[string]string {
	t.Helper()
	var resp struct {
		Status string `json:"status"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
			} `json:"result"`
		} `json:"data"`
	}
	s.get(t, "/api/v1/query?query="+url.QueryEscape(expr), &resp)
	require.Equal(t, "success", resp.Status, expr)
	var out []map[string]string
	for _, r := range resp.Data.Result {
		out = append(out, r.Metric)
	}
	return out
}

// get reads path of s's API into v.
func (s *promServer) get(t *testing.T, path string, v any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url+path, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err, "GET %s", path)
	defer resp.Body.Close()
	require.NoError(t, json.NewDecoder(resp.Body).Decode(v), "GET %s", path)
}

// hostPort returns the host:port of a base URL ("http://127.0.0.1:1234").
func hostPort(t *testing.T, baseURL string) string {
	t.Helper()
	u, err := url.Parse(baseURL)
	require.NoError(t, err)
	return u.Host
}
