package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"bitqueue/internal/cli"
	"bitqueue/internal/health"
	"bitqueue/internal/metrics"
)

// ops is what a worker shows to operators: its readiness, its metrics and the
// HTTP server that serves both.
type ops struct {
	health  *health.State
	metrics *metrics.Worker
	server  *health.Server // nil when --http-addr is off
}

// httpOff are the values of --http-addr that disable the HTTP server; "off"
// is how BITQUEUE_HTTP_ADDR says it, an empty variable meaning unset.
var httpOff = []string{"", "off"}

// httpAuto, the default of --http-addr, serves on the first free port of
// autoPorts on every interface, else on any free port, so that several
// workers share a host out of the box; each logs the address it took.
const httpAuto = "auto"

// autoPorts are the ports --http-addr auto tries, in order, before any free
// port.
var autoPorts = [2]int{8080, 8099}

// checkHTTPAddr validates --http-addr, given by the user as from: auto,
// host:port (host may be empty for every interface, port 0 for any free
// one), or off.
func checkHTTPAddr(addr, from string) error {
	if addr == httpAuto || slices.Contains(httpOff, addr) {
		return nil
	}
	if !cli.IsHostPort(addr) {
		return cli.Usagef("%s: want host:port, :port, auto or off", from)
	}
	return nil
}

// listen opens the HTTP listener for --http-addr, given by the user as from.
// An address the user named that cannot be had is a usage error; auto falls
// back from port to port.
func listen(addr, from string) (net.Listener, error) {
	if addr != httpAuto {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, cli.Usagef("%s: %v", from, err)
		}
		return ln, nil
	}
	return listenAuto(autoPorts, from)
}

// listenAuto listens on every interface on the first free port from
// ports[0] to ports[1], else on any free port.
func listenAuto(ports [2]int, from string) (net.Listener, error) {
	for port := ports[0]; port <= ports[1]; port++ {
		if ln, err := net.Listen("tcp", ":"+strconv.Itoa(port)); err == nil {
			return ln, nil
		}
	}
	ln, err := net.Listen("tcp", ":0")
	if err != nil {
		return nil, fmt.Errorf("%s: no free port: %w", from, err)
	}
	return ln, nil
}

// newOps builds the worker's readiness and metrics and, unless --http-addr is
// off, starts serving them, before the startup hook runs, so that /healthz
// answers and /readyz says why the worker is not ready yet while the cache
// is being built. The metrics are the worker's own: queue-level metrics,
// which read Redis at every scrape, come from one exporter per fleet
// (cmd/exporter), so that adding workers adds no Redis load from scrapes.
func newOps(c config, log *slog.Logger) (*ops, error) {
	o := &ops{health: health.New(nil)}
	reg := metrics.NewRegistry()
	b := cli.Build()
	reg.MustRegister(metrics.BuildInfo(b.Version, b.Revision, b.GoVersion))
	o.metrics = metrics.NewWorker(reg, func() bool { ready, _ := o.health.Ready(); return ready })
	if slices.Contains(httpOff, c.httpAddr) {
		log.Info("http server off: no /healthz, /readyz or /metrics")
		return o, nil
	}
	srv, err := startOps(c.httpAddr, c.httpFrom, o.health, reg, log)
	if err != nil {
		return nil, err
	}
	o.server = srv
	return o, nil
}

// stop stops the HTTP server, once the worker has shut down.
func (o *ops) stop(log *slog.Logger) {
	if o.server == nil {
		return
	}
	if err := o.server.Stop(5 * time.Second); err != nil {
		log.Warn("http server stopped with an error", "err", err)
	}
}

// startOps listens on addr (see listen) and serves the health endpoints of hs and the
// metrics of reg in a goroutine until stop is called. It returns once the
// listener is open, so that /healthz answers before the worker starts
// building its cache.
func startOps(addr, from string, hs *health.State, reg *prometheus.Registry, log *slog.Logger) (*health.Server, error) {
	ln, err := listen(addr, from)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/healthz", health.Healthz())
	mux.Handle("/readyz", hs.Readyz())
	mux.Handle("/metrics", metrics.Handler(reg, log, 30*time.Second))
	return health.Serve(ln, mux, "/healthz /readyz /metrics", log), nil
}

// probe is `worker probe`: it asks a worker's HTTP server whether it is ready
// (or alive, with --url …/healthz) and exits 0 when the answer is 200, 1
// otherwise. Container images without a shell use it as their healthcheck.
func probe(ctx context.Context, c probeConfig, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return cli.Usagef("%s: %v", c.urlFrom, err)
	}
	resp, err := (&http.Client{}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s: %s", c.url, resp.Status, strings.TrimSpace(string(body)))
	}
	fmt.Fprintf(stdout, "%s: %s\n", c.url, strings.TrimSpace(string(body)))
	return nil
}
