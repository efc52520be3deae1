// Command exporter serves the Prometheus metrics of bitqueue's queues, read
// from Redis, once for a whole fleet: tasks per queue and state, processed
// and failed totals, the age of the oldest pending batch and the number of
// live workers. Run one per Redis deployment; workers export only their own
// metrics, so adding workers adds no Redis load from scrapes. With --ui-addr
// it also serves asynqmon, asynq's web UI, showing each batch's run, seq and
// size rather than its bytes.
package main

import (
	"context"
	"errors"
	"io"
	"time"

	"bitqueue/internal/cli"
	"bitqueue/internal/redisconn"
)

func main() { cli.Main("exporter", run) }

// DefaultHTTPAddr is where the exporter serves unless --http-addr says
// otherwise: beside workers on one host, away from their ports.
const DefaultHTTPAddr = ":9101"

type config struct {
	redisURL       string
	redisFrom      string // where --redis came from, for messages: the URL may hold a password
	redisOpts      redisconn.Options
	queues         []string
	shards         int
	httpAddr       string
	inspectTimeout time.Duration
	logFormat      string
	logLevel       string
	ui             uiConfig
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c, err := parse(args, getenv, stdout)
	if err != nil {
		return err
	}
	db, log, err := redisconn.Setup{URL: c.redisURL, URLFrom: c.redisFrom, Options: c.redisOpts, LogFormat: c.logFormat, LogLevel: c.logLevel}.Start(ctx, stderr)
	if err != nil {
		return err
	}
	defer db.Close()
	log.Info("exporter starting", "redis", redisconn.Redact(c.redisURL), "queues", c.queues)
	srv, err := start(c, db, log)
	if err != nil {
		return err
	}
	ui, err := startUI(c.ui, db, log)
	if err != nil {
		return errors.Join(err, srv.Stop(time.Second))
	}
	<-ctx.Done()
	log.Info("exporter stopping")
	if ui != nil {
		err = ui.Stop(5 * time.Second)
	}
	return errors.Join(err, srv.Stop(5*time.Second))
}
