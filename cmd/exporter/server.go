package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"bitqueue/internal/health"
	"bitqueue/internal/metrics"
)

// server is the exporter's HTTP server: /healthz and /metrics.
type server struct {
	srv  *http.Server
	addr net.Addr
	done chan error // receives Serve's result once it returns
}

// start listens on c.httpAddr and serves, in a goroutine until stop, the
// queue metrics of c.queues read through insp, with the Go runtime and
// process metrics of the exporter itself.
func start(c config, insp *asynq.Inspector, log *slog.Logger) (*server, error) {
	reg := metrics.NewRegistry()
	reg.MustRegister(metrics.NewQueues(insp, c.queues, c.inspectTimeout, log, nil))
	ln, err := net.Listen("tcp", c.httpAddr)
	if err != nil {
		return nil, fmt.Errorf("--http-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/healthz", health.Healthz())
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		Registry:          reg,
		ErrorHandling:     promhttp.ContinueOnError,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		Timeout:           c.inspectTimeout + 25*time.Second,
		EnableOpenMetrics: true,
	}))
	s := &server{
		srv: &http.Server{
			Handler:           mux,
			ReadHeaderTimeout: 5 * time.Second,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		},
		addr: ln.Addr(),
		done: make(chan error, 1),
	}
	go func() { s.done <- s.srv.Serve(ln) }()
	log.Info("http listening", "addr", s.addr.String(), "paths", "/healthz /metrics")
	return s, nil
}

// stop shuts the server down gracefully, waiting at most timeout for
// scrapes in progress, and returns any error it met while serving.
func (s *server) stop(timeout time.Duration) error {
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
