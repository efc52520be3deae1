package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/fixture"
	"bitqueue/internal/cli"
	"bitqueue/internal/logging"
	"bitqueue/internal/rdb"
	"bitqueue/redistest"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		queues  []string
		addr    string
		ui      uiConfig
		wantErr string
	}{
		{"defaults", nil, nil, []string{"bits"}, DefaultHTTPAddr, uiConfig{addrFrom: "--ui-addr"}, ""},
		{"shards", []string{"--queue", "a,b", "--shards", "2"}, nil, []string{"a-0", "a-1", "b-0", "b-1"}, DefaultHTTPAddr, uiConfig{addrFrom: "--ui-addr"}, ""},
		{"from env", nil, map[string]string{"BITQUEUE_QUEUE": "q", "BITQUEUE_HTTP_ADDR": "127.0.0.1:0"}, []string{"q"}, "127.0.0.1:0", uiConfig{addrFrom: "--ui-addr"}, ""},
		{"flag wins over env", []string{"--queue", "f"}, map[string]string{"BITQUEUE_QUEUE": "q"}, []string{"f"}, DefaultHTTPAddr, uiConfig{addrFrom: "--ui-addr"}, ""},
		{"no queue", []string{"--queue", " , "}, nil, nil, "", uiConfig{}, "--queue"},
		{"shards out of range", []string{"--shards", "0"}, nil, nil, "", uiConfig{}, "shards"},
		{"timeout too short", []string{"--inspect-timeout", "1ms"}, nil, nil, "", uiConfig{}, "--inspect-timeout"},
		{"no port", []string{"--http-addr", "localhost"}, nil, nil, "", uiConfig{}, "--http-addr"},
		{"unexpected argument", []string{"extra"}, nil, nil, "", uiConfig{}, "extra"},
		{"UI served", []string{"--ui-addr", ":8081"}, nil, []string{"bits"}, DefaultHTTPAddr, uiConfig{addr: ":8081", addrFrom: "--ui-addr"}, ""},
		{"UI from env", nil, map[string]string{"BITQUEUE_UI_ADDR": "127.0.0.1:0", "BITQUEUE_UI_READ_ONLY": "true", "BITQUEUE_UI_PROMETHEUS": "http://prometheus:9090"}, []string{"bits"}, DefaultHTTPAddr,
			uiConfig{addr: "127.0.0.1:0", addrFrom: "BITQUEUE_UI_ADDR", readOnly: true, prometheus: "http://prometheus:9090"}, ""},
		{"UI read-only false without a UI", nil, map[string]string{"BITQUEUE_UI_READ_ONLY": "false"}, []string{"bits"}, DefaultHTTPAddr, uiConfig{addrFrom: "--ui-addr"}, ""},
		{"UI with no port", []string{"--ui-addr", "localhost"}, nil, nil, "", uiConfig{}, "--ui-addr localhost: want host:port"},
		{"UI read-only without a UI", []string{"--ui-read-only"}, nil, nil, "", uiConfig{}, "--ui-read-only applies to the web UI"},
		{"UI prometheus without a UI", nil, map[string]string{"BITQUEUE_UI_PROMETHEUS": "http://p:9090"}, nil, "", uiConfig{}, "BITQUEUE_UI_PROMETHEUS=http://p:9090 applies to the web UI"},
		{"UI prometheus not a URL", []string{"--ui-addr", ":0", "--ui-prometheus", "prometheus:9090"}, nil, nil, "", uiConfig{}, "--ui-prometheus prometheus:9090: want Prometheus's base URL"},
		{"UI prometheus with a query", []string{"--ui-addr", ":0", "--ui-prometheus", "http://p:9090/?x=1"}, nil, nil, "", uiConfig{}, "--ui-prometheus"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := parse(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if tt.wantErr != "" {
				require.Error(t, err)
				require.Equal(t, cli.ExitUsage, cli.ExitCode(err))
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.queues, c.queues)
			require.Equal(t, tt.addr, c.httpAddr)
			require.Equal(t, tt.ui, c.ui)
		})
	}
}

func TestHelpListsEveryFlagWithItsVariable(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	err := run(context.Background(), []string{"-h"}, func(string) string { return "" }, &out, io.Discard)
	require.Equal(t, cli.ExitOK, cli.ExitCode(err))
	docs, err := cli.Flags(command, &flags{}, "")
	require.NoError(t, err)
	vars := map[string]string{}
	for _, d := range docs {
		require.NotEmpty(t, d.Variables, "--%s has a variable", d.Name)
		require.Contains(t, out.String(), "  --"+d.Name, "-h")
		require.Contains(t, out.String(), "[$"+strings.Join(d.Variables, ", $")+"]", "-h shows --%s's variables", d.Name)
		vars[d.Name] = d.Variables[0]
	}
	require.Equal(t, map[string]string{
		"redis": "BITQUEUE_REDIS_URL", "queue": "BITQUEUE_QUEUE", "shards": "BITQUEUE_SHARDS", "http-addr": "BITQUEUE_HTTP_ADDR",
		"inspect-timeout": "BITQUEUE_INSPECT_TIMEOUT", "log-format": "BITQUEUE_LOG_FORMAT", "log-level": "BITQUEUE_LOG_LEVEL",
		"redis-ca": "BITQUEUE_REDIS_CA", "redis-tls-server-name": "BITQUEUE_REDIS_TLS_SERVER_NAME",
		"ui-addr": "BITQUEUE_UI_ADDR", "ui-read-only": "BITQUEUE_UI_READ_ONLY", "ui-prometheus": "BITQUEUE_UI_PROMETHEUS",
	}, vars)
}

// TestServesQueueMetrics checks that /metrics reports the queues read from
// Redis, once, and that /healthz answers.
func TestServesQueueMetrics(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	queue, _ := r.Namespace(t)
	fixture.EnqueueNoops(t, r.Client, queue, 3)

	log, err := logging.New(io.Discard, "text", "info")
	require.NoError(t, err)
	c, err := parse([]string{"--queue", queue, "--http-addr", "127.0.0.1:0"}, func(string) string { return "" }, io.Discard)
	require.NoError(t, err)
	s, err := start(c, rdb.New(r.Client, ""), log)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Stop(time.Second) })
	base := "http://" + s.Addr().String()

	code, body := get(t, base+"/healthz")
	require.Equal(t, http.StatusOK, code, body)
	code, body = get(t, base+"/metrics")
	require.Equal(t, http.StatusOK, code, body)
	for _, line := range []string{
		`bitqueue_queue_tasks{queue="` + queue + `",state="pending"} 3`,
		`bitqueue_queue_tasks{queue="` + queue + `",state="archived"} 0`,
		"bitqueue_queue_inspect_success 1",
		"bitqueue_workers 0",
	} {
		require.Contains(t, body, line+"\n")
	}
	require.Contains(t, body, "go_goroutines", "the exporter's own runtime metrics")
	require.NotContains(t, body, "bitqueue_batches_processed_total", "no worker metrics")
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, strings.TrimSpace(string(b)) + "\n"
}
