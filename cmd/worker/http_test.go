package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/cli"
	"bitqueue/internal/health"
	"bitqueue/internal/logging"
)

func TestHTTPAddrFlag(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
		ok   bool
	}{
		{"default", nil, nil, "auto", true},
		{"auto", []string{"--http-addr", "auto"}, nil, "auto", true},
		{"loopback port", []string{"--http-addr", "127.0.0.1:9100"}, nil, "127.0.0.1:9100", true},
		{"any free port", []string{"--http-addr", "127.0.0.1:0"}, nil, "127.0.0.1:0", true},
		{"empty disables", []string{"--http-addr", ""}, nil, "", true},
		{"off disables", []string{"--http-addr", "off"}, nil, "off", true},
		{"from env", nil, map[string]string{"BITQUEUE_HTTP_ADDR": "off"}, "off", true},
		{"flag wins over env", []string{"--http-addr", ":9"}, map[string]string{"BITQUEUE_HTTP_ADDR": "off"}, ":9", true},
		{"no port", []string{"--http-addr", "localhost"}, nil, "", false},
		{"empty port", []string{"--http-addr", "localhost:"}, nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := parse(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if !tt.ok {
				require.Error(t, err)
				require.Equal(t, cli.ExitUsage, cli.ExitCode(err))
				require.ErrorContains(t, err, "--http-addr")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, c.httpAddr)
		})
	}
}

func TestProbe(t *testing.T) {
	t.Parallel()
	hs := health.New(nil)
	srv := httptest.NewServer(hs.Readyz())
	t.Cleanup(srv.Close)
	probeArgs := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(context.Background(), append([]string{"probe"}, args...), func(string) string { return "" }, &out, io.Discard)
		return out.String(), err
	}

	hs.Report("serve", "building cache")
	_, err := probeArgs("--url", srv.URL)
	require.Error(t, err)
	require.Equal(t, cli.ExitFailure, cli.ExitCode(err))
	require.ErrorContains(t, err, "503")
	require.ErrorContains(t, err, "building cache")

	hs.Report("serve", "")
	out, err := probeArgs("--url", srv.URL)
	require.NoError(t, err)
	require.Contains(t, out, "ready")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := "http://" + ln.Addr().String() + "/readyz"
	require.NoError(t, ln.Close())
	_, err = probeArgs("--url", closed, "--timeout", "1s")
	require.Error(t, err)
	require.Equal(t, cli.ExitFailure, cli.ExitCode(err))

	_, err = probeArgs("--timeout", "0s")
	require.Equal(t, cli.ExitUsage, cli.ExitCode(err))
	_, err = probeArgs("--url", "::not a url")
	require.Equal(t, cli.ExitUsage, cli.ExitCode(err))
}

// TestOpsServer serves the three paths on a free loopback port and stops
// gracefully.
func TestOpsServer(t *testing.T) {
	t.Parallel()
	log, err := logging.New(io.Discard, "text", "info")
	require.NoError(t, err)
	hs := health.New(nil)
	reg := prometheus.NewRegistry()
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "bitqueue_test_gauge", Help: "A gauge of the test."})
	g.Set(42)
	reg.MustRegister(g)
	s, err := startOps("127.0.0.1:0", "--http-addr 127.0.0.1:0", hs, reg, log)
	require.NoError(t, err)
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = s.Stop(time.Second)
		}
	})
	base := "http://" + s.Addr().String()
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(base + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}
	code, _ := get("/healthz")
	require.Equal(t, http.StatusOK, code)
	code, body := get("/readyz")
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Equal(t, "not ready: starting\n", body)
	code, body = get("/metrics")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "bitqueue_test_gauge 42")
	code, _ = get("/nope")
	require.Equal(t, http.StatusNotFound, code)

	require.NoError(t, s.Stop(5*time.Second))
	stopped = true
	_, err = http.Get(base + "/healthz")
	require.Error(t, err, "the server is closed")

	_, err = startOps("127.0.0.1:bad", "--http-addr 127.0.0.1:bad", hs, reg, log)
	require.Error(t, err)
	require.True(t, strings.HasPrefix(err.Error(), "--http-addr"), err.Error())
}

// TestListen checks --http-addr's two kinds of address: one the user named,
// which is an error (exit 2) when taken, and auto, which moves on.
func TestListen(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", ":0")
	require.NoError(t, err)
	t.Cleanup(func() { taken.Close() })
	port := taken.Addr().(*net.TCPAddr).Port

	_, err = listen(taken.Addr().String(), "BITQUEUE_HTTP_ADDR="+taken.Addr().String())
	require.Error(t, err)
	require.Equal(t, cli.ExitUsage, cli.ExitCode(err))
	require.True(t, strings.HasPrefix(err.Error(), "BITQUEUE_HTTP_ADDR="), err.Error())

	ln, err := listenAuto([2]int{port, port}, "--http-addr auto")
	require.NoError(t, err, "every port of the range taken: any free port")
	t.Cleanup(func() { ln.Close() })
	require.NotEqual(t, port, ln.Addr().(*net.TCPAddr).Port)
}

// TestWorkerMetricsHaveNoQueueSeries checks that a worker exports only its
// own metrics: the queue-level ones, which read Redis at every scrape, come
// from the exporter, once per fleet.
func TestWorkerMetricsHaveNoQueueSeries(t *testing.T) {
	t.Parallel()
	log, err := logging.New(io.Discard, "text", "info")
	require.NoError(t, err)
	c, err := parse([]string{"--http-addr", "127.0.0.1:0"}, func(string) string { return "" }, io.Discard)
	require.NoError(t, err)
	o, err := newOps(c, log)
	require.NoError(t, err)
	t.Cleanup(func() { o.stop(log) })

	resp, err := http.Get("http://" + o.server.Addr().String() + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	body := string(b)
	require.Contains(t, body, "bitqueue_ready 0", "the worker's own metrics")
	require.Contains(t, body, "bitqueue_batches_processed_total 0")
	for _, name := range []string{"bitqueue_queue_", "bitqueue_workers"} {
		require.NotContains(t, body, name, "queue-level metrics belong to the exporter")
	}
}
