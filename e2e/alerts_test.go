package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"bitqueue/redistest"
)

// alertRules are the alerting rules of deploy/alerts.yml, by name.
func alertRules(t *testing.T) []string {
	t.Helper()
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(readRepoFile(t, "deploy/alerts.yml")), &rules))
	var names []string
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			require.NotEmpty(t, r.Alert, "deploy/alerts.yml holds only alerting rules")
			names = append(names, r.Alert)
		}
	}
	return names
}

// TestEveryAlertHasAUnitTest checks that deploy/alerts_test.yml tests every
// rule of deploy/alerts.yml: for each, at least one evaluation expects it to
// fire, and every alert it names is a rule.
func TestEveryAlertHasAUnitTest(t *testing.T) {
	t.Parallel()
	var tests struct {
		RuleFiles []string `yaml:"rule_files"`
		Tests     []struct {
			Name  string `yaml:"name"`
			Evals []struct {
				Alert string `yaml:"alertname"`
				Exp   []any  `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(readRepoFile(t, "deploy/alerts_test.yml")), &tests))
	require.Equal(t, []string{"alerts.yml"}, tests.RuleFiles)
	rules := alertRules(t)
	fires := map[string]bool{}
	for _, tc := range tests.Tests {
		for _, ev := range tc.Evals {
			require.Contains(t, rules, ev.Alert, "test %q names an alert deploy/alerts.yml does not hold", tc.Name)
			fires[ev.Alert] = fires[ev.Alert] || len(ev.Exp) > 0
		}
	}
	for _, r := range rules {
		require.True(t, fires[r], "no unit test in deploy/alerts_test.yml shows %s firing", r)
	}
	for _, r := range []string{"BitqueueBacklogStalled", "BitqueueQueuePaused", "BitqueueWorkerDown", "BitqueueNoWorkerScraped", "BitqueueWorkerNotReady", "BitqueueBatchesFailing"} {
		require.Contains(t, rules, r)
	}
}

// TestAlertRulesPassPromtool runs what `make alerts-check` runs: promtool
// checks deploy/alerts.yml and runs its unit tests, deploy/alerts_test.yml.
func TestAlertRulesPassPromtool(t *testing.T) {
	t.Parallel()
	code, out := promtool(t, "", "check", "rules", "../deploy/alerts.yml")
	require.Equal(t, 0, code, out)
	code, out = promtool(t, "", "test", "rules", "../deploy/alerts_test.yml")
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "SUCCESS")
}

// rulesFiringFast writes deploy/alerts.yml to dir with every rule's `for`
// cut to 1s, and returns its path: a real Prometheus then fires a rule
// within seconds of its expression holding. Expressions, labels and
// annotations are left as they are; Prometheus's own `for` is not what the
// tests that use it are about.
func rulesFiringFast(t *testing.T, dir string) string {
	t.Helper()
	var doc map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(readRepoFile(t, "deploy/alerts.yml")), &doc))
	for _, g := range doc["groups"].([]any) {
		for _, r := range g.(map[string]any)["rules"].([]any) {
			if rule := r.(map[string]any); rule["for"] != nil {
				rule["for"] = "1s"
			}
		}
	}
	b, err := yaml.Marshal(doc)
	require.NoError(t, err)
	path := filepath.Join(dir, "alerts.yml")
	require.NoError(t, os.WriteFile(path, b, 0o644))
	return path
}

// asynqmonQueries are the queries asynqmon v0.7.2's metrics tab sends to
// Prometheus for one queue (metrics_handler.go, QUEUE_FILTER filled in).
func asynqmonQueries(queue string) []string {
	f := `queue="` + queue + `"`
	return []string{
		`asynq_queue_size{` + f + `}`,
		`asynq_queue_latency_seconds{` + f + `}`,
		`asynq_queue_memory_usage_approx_bytes{` + f + `}`,
		`rate(asynq_tasks_processed_total{` + f + `}[5m])`,
		`rate(asynq_tasks_failed_total{` + f + `}[5m])`,
		`rate(asynq_tasks_failed_total{` + f + `}[5m]) / rate(asynq_tasks_processed_total{` + f + `}[5m])`,
		`asynq_tasks_enqueued_total{state="pending",` + f + `}`,
		`asynq_tasks_enqueued_total{state="retry",` + f + `}`,
		`asynq_tasks_enqueued_total{state="archived",` + f + `}`,
	}
}

// dashboardQueries returns the query of every panel of
// deploy/grafana-dashboard.json with its variables given values: every job,
// every queue, rates over a minute.
func dashboardQueries(t *testing.T) []string {
	t.Helper()
	var dash struct {
		Panels []struct {
			Targets []struct{ Expr string }
		}
	}
	require.NoError(t, json.Unmarshal([]byte(readRepoFile(t, "deploy/grafana-dashboard.json")), &dash))
	vars := strings.NewReplacer(`$job`, `.*`, `$queue`, `.*`, `$__rate_interval`, `1m`)
	var out []string
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			out = append(out, vars.Replace(tg.Expr))
		}
	}
	require.NotEmpty(t, out)
	return out
}

// TestAlertsFireInPrometheus runs Debian's Prometheus on deploy/alerts.yml
// (its `for` cut to 1s), scraping two real workers and the real exporter
// every second, and checks through its HTTP API that:
//   - every query of the dashboard runs and finds series;
//   - a paused queue with batches waiting fires BitqueueQueuePaused, and
//     asynqmon's metrics tab queries find the exporter's asynq_* series;
//   - one worker killed while the other runs fires BitqueueWorkerDown for
//     it, and not BitqueueNoWorkerScraped;
//   - both killed, BitqueueNoWorkerScraped fires, and BitqueueWorkerDown no
//     longer does.
func TestAlertsFireInPrometheus(t *testing.T) {
	t.Parallel()
	needPrometheusBinary(t, "prometheus")
	e := setup(t)
	w1 := startWorker(t, e)
	w2 := startWorker(t, e)
	w1Addr, w2Addr := hostPort(t, opsURL(t, w1)), hostPort(t, opsURL(t, w2))
	exporter := hostPort(t, startExporter(t, e))
	prom := startPrometheus(t, []scrapeJob{
		{"bitqueue-worker", []string{w1Addr, w2Addr}},
		{"bitqueue-exporter", []string{exporter}},
	}, rulesFiringFast(t, t.TempDir()))
	redistest.WaitFor(t, time.Minute, "both workers and the exporter scraped", func() bool {
		return len(prom.query(t, `up == 1`)) == 3
	})
	redistest.WaitFor(t, 30*time.Second, "no alert about workers while both answer", func() bool {
		return len(prom.firing(t, "BitqueueNoWorkerScraped")) == 0 && len(prom.firing(t, "BitqueueWorkerDown")) == 0
	})

	// A paused queue with batches waiting.
	insp := e.inspector(t)
	require.NoError(t, insp.PauseQueue(e.queue))
	t.Cleanup(func() { _ = insp.UnpauseQueue(e.queue) })
	produceOK(t, e, "-count", "100", "-batch-size", "10", "-run-id", "prom-paused")
	a := prom.waitFiring(t, "BitqueueQueuePaused", map[string]string{"queue": e.queue, "job": "bitqueue-exporter"}, time.Minute)
	require.Equal(t, "queue "+e.queue+" is paused with batches waiting", a.Annotations["summary"])
	require.Contains(t, a.Annotations["description"], "`asynq queue unpause "+e.queue+"`")
	for _, q := range asynqmonQueries(e.queue) {
		redistest.WaitFor(t, 30*time.Second, "a series for asynqmon's query "+q, func() bool { return len(prom.query(t, q)) > 0 })
	}
	for _, q := range dashboardQueries(t) {
		redistest.WaitFor(t, 30*time.Second, "a series for the dashboard's query "+q, func() bool { return len(prom.query(t, q)) > 0 })
	}
	info, err := insp.GetQueueInfo(e.queue)
	require.NoError(t, err)
	require.Equal(t, 10, info.Pending, "no worker took a batch of the paused queue")

	// One worker gone, the other running.
	w1.kill(t)
	a = prom.waitFiring(t, "BitqueueWorkerDown", map[string]string{"instance": w1Addr, "job": "bitqueue-worker"}, time.Minute)
	require.Equal(t, "worker "+w1Addr+" does not answer scrapes", a.Annotations["summary"])
	for _, fa := range prom.firing(t, "BitqueueWorkerDown") {
		require.Equal(t, w1Addr, fa.Labels["instance"], "only the worker killed is down")
	}
	require.Empty(t, prom.firing(t, "BitqueueNoWorkerScraped"), "a worker is still scraped")

	// Every worker gone.
	require.Zero(t, w2.stop(t, syscall.SIGTERM))
	prom.waitFiring(t, "BitqueueNoWorkerScraped", nil, time.Minute)
	redistest.WaitFor(t, 30*time.Second, "BitqueueWorkerDown to stop firing: no worker of the job answers", func() bool {
		return len(prom.firing(t, "BitqueueWorkerDown")) == 0
	})
	require.True(t, slices.ContainsFunc(prom.query(t, `up{job="bitqueue-worker"} == 0`), func(m map[string]string) bool { return m["instance"] == w2Addr }))
}
