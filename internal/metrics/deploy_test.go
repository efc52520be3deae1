package metrics_test

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"bitqueue/internal/metrics"
	"bitqueue/internal/rdb"
)

// exported returns every series name bitqueue's own metrics can have: a
// worker's and the exporter's (asynq's names included), histograms with
// their _bucket, _sum and _count series; each with its label names.
func exported(t *testing.T) map[string][]string {
	t.Helper()
	names := map[string][]string{}
	reg := prometheus.NewRegistry()
	metrics.NewWorker(reg, func() bool { return true })
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		var labels []string
		for _, lp := range mf.GetMetric()[0].GetLabel() {
			labels = append(labels, lp.GetName())
		}
		names[mf.GetName()] = labels
		if mf.GetType() == dto.MetricType_HISTOGRAM {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				names[mf.GetName()+s] = labels
			}
		}
	}
	descs := make(chan *prometheus.Desc, 64)
	metrics.NewQueues(rdb.New(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}), ""), []string{"q"}, time.Second, nil, nil).WithAsynqNames().Describe(descs)
	close(descs)
	fqName := regexp.MustCompile(`fqName: "([^"]+)".*variableLabels: \{([^}]*)\}`)
	for d := range descs {
		m := fqName.FindStringSubmatch(d.String())
		require.NotNil(t, m, d.String())
		var labels []string
		if m[2] != "" {
			labels = strings.Split(m[2], ",")
		}
		names[m[1]] = labels
	}
	require.Equal(t, []string{"queue", "state"}, names["bitqueue_queue_tasks"], "label names read from the descriptors")
	return names
}

// metricNames are the bitqueue and asynq metric names an expression uses.
var metricNames = regexp.MustCompile(`\b(?:bitqueue|asynq)_[a-z0-9_]+`)

// requireExported fails t when an expression of file uses a bitqueue or
// asynq metric the code does not export, and returns the names used.
func requireExported(t *testing.T, file string, exprs []string) map[string]bool {
	t.Helper()
	require.NotEmpty(t, exprs, "%s has no expressions", file)
	have := exported(t)
	used := map[string]bool{}
	for _, e := range exprs {
		for _, name := range metricNames.FindAllString(e, -1) {
			_, ok := have[name]
			require.True(t, ok, "%s: %s is not a metric bitqueue exports (expression %q)", file, name, e)
			used[name] = true
		}
	}
	return used
}

// dashboardDatasource is how every panel and query of the dashboard names
// its data source: the dashboard's datasource variable, never a uid of one
// Grafana's.
const dashboardDatasource = "${datasource}"

// selectors matches each metric of an expression with its label matchers:
// the metric name, then what is between its braces ("" without braces).
var selectors = regexp.MustCompile(`\b((?:bitqueue|asynq)_[a-z0-9_]+|up)\b(?:\{([^}]*)\})?`)

// TestDashboardUsesExportedMetrics parses deploy/grafana-dashboard.json and
// checks every query against the metrics the code exports, and that the
// dashboard is portable: its data source is a variable every panel and
// query uses; every metric a query selects is filtered by the $job variable,
// and by $queue when it has a queue label; rates are taken over
// $__rate_interval, never a fixed window; and a panel shows paused queues.
func TestDashboardUsesExportedMetrics(t *testing.T) {
	t.Parallel()
	const file = "../../deploy/grafana-dashboard.json"
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	type datasource struct{ Type, UID string }
	var dash struct {
		Panels []struct {
			Title      string
			Datasource datasource
			Targets    []struct {
				Expr       string
				Datasource datasource
			}
		}
		Templating struct {
			List []struct {
				Name, Type string
				Query      any
				Datasource *datasource
				Multi      bool
				IncludeAll bool
				AllValue   string
			}
		}
	}
	require.NoError(t, json.Unmarshal(b, &dash))
	require.False(t, strings.Contains(string(b), `"uid": "prometheus"`), "no data source is named by a uid of one Grafana's")

	vars := map[string]int{}
	for i, v := range dash.Templating.List {
		vars[v.Name] = i
	}
	for _, name := range []string{"datasource", "job", "queue"} {
		require.Contains(t, vars, name, "the dashboard has no $%s variable", name)
	}
	dsVar := dash.Templating.List[vars["datasource"]]
	require.Equal(t, "datasource", dsVar.Type)
	require.Equal(t, "prometheus", dsVar.Query)
	for _, name := range []string{"job", "queue"} {
		v := dash.Templating.List[vars[name]]
		require.Equal(t, "query", v.Type, "$%s", name)
		require.NotNil(t, v.Datasource, "$%s", name)
		require.Equal(t, dashboardDatasource, v.Datasource.UID, "$%s queries the chosen data source", name)
		require.True(t, v.Multi && v.IncludeAll && v.AllValue == ".*", "$%s: several values, all by default, matched as a regular expression", name)
	}
	require.Contains(t, fmt.Sprint(dash.Templating.List[vars["queue"]].Query), `job=~"$job"`, "the queues of the chosen jobs")

	have := exported(t)
	ranges := regexp.MustCompile(`\[[^\]]*\]`)
	var exprs []string
	for _, p := range dash.Panels {
		require.NotEmpty(t, p.Targets, "panel %q has no query", p.Title)
		require.Equal(t, datasource{"prometheus", dashboardDatasource}, p.Datasource, "panel %q", p.Title)
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
			require.Equal(t, datasource{"prometheus", dashboardDatasource}, tg.Datasource, "panel %q: %s", p.Title, tg.Expr)
			for _, r := range ranges.FindAllString(tg.Expr, -1) {
				require.Equal(t, "[$__rate_interval]", r, "panel %q: %s", p.Title, tg.Expr)
			}
			sels := selectors.FindAllStringSubmatch(tg.Expr, -1)
			require.NotEmpty(t, sels, "panel %q: %s", p.Title, tg.Expr)
			for _, m := range sels {
				require.Contains(t, m[2], `job=~"$job"`, "panel %q: %s in %s", p.Title, m[1], tg.Expr)
				if slices.Contains(have[m[1]], "queue") {
					require.Contains(t, m[2], `queue=~"$queue"`, "panel %q: %s in %s", p.Title, m[1], tg.Expr)
				}
			}
		}
	}
	used := requireExported(t, file, exprs)
	for _, name := range []string{
		"bitqueue_integers_converted_total",             // throughput
		"bitqueue_queue_tasks",                          // backlog per queue, archived
		"bitqueue_ready",                                // workers ready
		"bitqueue_cache_build_duration_seconds",         // cache build time
		"bitqueue_batch_duration_seconds_bucket",        // batch latency
		"bitqueue_queue_latency_seconds",                // oldest pending batch
		"bitqueue_batches_failed_total",                 // failures
		"bitqueue_queue_inspect_success",                // is the exporter reading Redis
		"bitqueue_result_write_duration_seconds_bucket", // result writes
		"bitqueue_result_write_batches_sum",             // batches per result write
		"bitqueue_queue_paused",                         // paused queues
	} {
		require.True(t, used[name], "the dashboard shows no %s", name)
	}
}

// TestAlertsUseExportedMetrics parses deploy/alerts.yml and checks every
// rule's expression against the metrics the code exports (promtool, in
// `make alerts-check`, checks their syntax).
func TestAlertsUseExportedMetrics(t *testing.T) {
	t.Parallel()
	const file = "../../deploy/alerts.yml"
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	require.NoError(t, yaml.Unmarshal(b, &rules))
	var exprs, alerts []string
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			exprs = append(exprs, r.Expr)
			alerts = append(alerts, r.Alert)
		}
	}
	requireExported(t, file, exprs)
	for _, a := range []string{"BitqueueBacklogGrowing", "BitqueueArchivedBatches", "BitqueueNoReadyWorker", "BitqueueCacheBuildSlow"} {
		require.True(t, slices.Contains(alerts, a), "no alert %s", a)
	}
}
