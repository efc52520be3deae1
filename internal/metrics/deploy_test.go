package metrics_test

import (
	"bitqueue/internal/rdb"
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"bitqueue/internal/metrics"
)

// exported returns every series name bitqueue's own metrics can have: a
// worker's and the exporter's, histograms with their _bucket, _sum and
// _count series.
func exported(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	reg := prometheus.NewRegistry()
	metrics.NewWorker(reg, func() bool { return true })
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		names[mf.GetName()] = true
		if mf.GetType() == dto.MetricType_HISTOGRAM {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				names[mf.GetName()+s] = true
			}
		}
	}
	descs := make(chan *prometheus.Desc, 64)
	metrics.NewQueues(rdb.New(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}), ""), []string{"q"}, time.Second, nil, nil).Describe(descs)
	close(descs)
	fqName := regexp.MustCompile(`fqName: "([^"]+)"`)
	for d := range descs {
		m := fqName.FindStringSubmatch(d.String())
		require.NotNil(t, m, d.String())
		names[m[1]] = true
	}
	return names
}

// bitqueueNames are the bitqueue metric names an expression uses.
var bitqueueNames = regexp.MustCompile(`\bbitqueue_[a-z0-9_]+`)

// requireExported fails t when an expression of file uses a bitqueue metric
// the code does not export, and returns the names used.
func requireExported(t *testing.T, file string, exprs []string) map[string]bool {
	t.Helper()
	require.NotEmpty(t, exprs, "%s has no expressions", file)
	have := exported(t)
	used := map[string]bool{}
	for _, e := range exprs {
		for _, name := range bitqueueNames.FindAllString(e, -1) {
			require.True(t, have[name], "%s: %s is not a metric bitqueue exports (expression %q)", file, name, e)
			used[name] = true
		}
	}
	return used
}

// TestDashboardUsesExportedMetrics parses deploy/grafana-dashboard.json and
// checks every query against the metrics the code exports.
func TestDashboardUsesExportedMetrics(t *testing.T) {
	t.Parallel()
	const file = "../../deploy/grafana-dashboard.json"
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	require.NoError(t, json.Unmarshal(b, &dash))
	var exprs []string
	for _, p := range dash.Panels {
		require.NotEmpty(t, p.Targets, "panel %q has no query", p.Title)
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
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
