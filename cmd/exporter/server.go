package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"bitqueue/internal/health"
	"bitqueue/internal/metrics"
	"bitqueue/internal/rdb"
)

// start listens on c.httpAddr and serves, in a goroutine until stop, the
// queue metrics of c.queues in db's Redis, under bitqueue's names and
// asynq's (for asynqmon's metrics tab), with the Go runtime and process
// metrics of the exporter itself.
func start(c config, db *rdb.RDB, log *slog.Logger) (*health.Server, error) {
	reg := metrics.NewRegistry()
	reg.MustRegister(metrics.NewQueues(db, c.queues, c.inspectTimeout, log, nil).WithAsynqNames())
	ln, err := net.Listen("tcp", c.httpAddr)
	if err != nil {
		return nil, fmt.Errorf("--http-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/healthz", health.Healthz())
	mux.Handle("/metrics", metrics.Handler(reg, log, c.inspectTimeout+25*time.Second))
	return health.Serve(ln, mux, "/healthz /metrics", log), nil
}
