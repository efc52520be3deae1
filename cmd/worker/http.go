package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"bitqueue/internal/cli"
	"bitqueue/internal/health"
	"bitqueue/internal/metrics"
)

// ops is what a worker shows to operators: its readiness, its metrics and the
// HTTP server that serves both.
type ops struct {
	health  *health.State
	metrics *metrics.Worker
	server  *opsServer // nil when --http-addr is off
}

// httpOff are the values of --http-addr that disable the HTTP server; "off"
// is how BITQUEUE_HTTP_ADDR says it, an empty variable meaning unset.
var httpOff = []string{"", "off"}

// checkHTTPAddr validates --http-addr: host:port (host may be empty for
// every interface, port 0 for any free one), or off.
func checkHTTPAddr(addr string) error {
	if slices.Contains(httpOff, addr) {
		return nil
	}
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
		return cli.Usagef("--http-addr %q: want host:port, :port, or off", addr)
	}
	return nil
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
	o.metrics = metrics.NewWorker(reg, func() bool { ready, _ := o.health.Ready(); return ready })
	if slices.Contains(httpOff, c.httpAddr) {
		log.Info("http server off: no /healthz, /readyz or /metrics")
		return o, nil
	}
	srv, err := startOps(c.httpAddr, o.health, reg, log)
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
	if err := o.server.stop(5 * time.Second); err != nil {
		log.Warn("http server stopped with an error", "err", err)
	}
}

// opsServer is the worker's HTTP server: /healthz, /readyz and /metrics.
type opsServer struct {
	srv  *http.Server
	addr net.Addr
	done chan error // receives Serve's result once it returns
}

// startOps listens on addr and serves the health endpoints of hs and the
// metrics of reg in a goroutine until stop is called. It returns once the
// listener is open, so that /healthz answers before the worker starts
// building its cache.
func startOps(addr string, hs *health.State, reg *prometheus.Registry, log *slog.Logger) (*opsServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--http-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/healthz", health.Healthz())
	mux.Handle("/readyz", hs.Readyz())
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		Registry:          reg, // promhttp_metric_handler_errors_total
		ErrorHandling:     promhttp.ContinueOnError,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		Timeout:           30 * time.Second,
		EnableOpenMetrics: true,
	}))
	s := &opsServer{
		srv: &http.Server{
			Handler:           mux,
			ReadHeaderTimeout: 5 * time.Second,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		},
		addr: ln.Addr(),
		done: make(chan error, 1),
	}
	go func() { s.done <- s.srv.Serve(ln) }()
	log.Info("http listening", "addr", s.addr.String(), "paths", "/healthz /readyz /metrics")
	return s, nil
}

// stop shuts the server down gracefully, waiting at most timeout for
// requests in progress, and returns any error it met while serving.
func (s *opsServer) stop(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if err != nil {
		_ = s.srv.Close()
	}
	if serr := <-s.done; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// probe is `worker probe`: it asks a worker's HTTP server whether it is ready
// (or alive, with --url …/healthz) and exits 0 when the answer is 200, 1
// otherwise. Container images without a shell use it as their healthcheck.
func probe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("worker probe", flag.ContinueOnError)
	url := fs.String("url", "http://127.0.0.1:8080/readyz", "URL to GET; 200 means healthy")
	timeout := fs.Duration("timeout", 2*time.Second, "give up after this long")
	env := map[string]string{"url": "BITQUEUE_PROBE_URL"}
	if err := cli.Parse(fs, args, getenv, env); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			cli.PrintUsage(stdout, fs, "worker probe [--url URL] [--timeout D]", env)
		}
		return err
	}
	if *timeout <= 0 {
		return cli.Usagef("--timeout %s must be positive", *timeout)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		return cli.Usagef("--url: %v", err)
	}
	resp, err := (&http.Client{}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s: %s", *url, resp.Status, strings.TrimSpace(string(body)))
	}
	fmt.Fprintf(stdout, "%s: %s\n", *url, strings.TrimSpace(string(body)))
	return nil
}
