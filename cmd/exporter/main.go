// Command exporter serves the Prometheus metrics of bitqueue's queues, read
// from Redis, once for a whole fleet: tasks per queue and state, processed
// and failed totals, the age of the oldest pending batch and the number of
// live workers. Run one per Redis deployment; workers export only their own
// metrics, so adding workers adds no Redis load from scrapes.
package main

import (
	"bitqueue/internal/base"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"time"

	"bitqueue/internal/cli"
	"bitqueue/internal/redisconn"
)

func main() { cli.Main("exporter", run) }

// DefaultHTTPAddr is where the exporter serves unless --http-addr says
// otherwise: beside workers on one host, away from their ports.
const DefaultHTTPAddr = ":9101"

var env = map[string]string{
	"redis":                 "REDIS_URL",
	"queue":                 "BITQUEUE_QUEUE",
	"shards":                "BITQUEUE_SHARDS",
	"http-addr":             "BITQUEUE_HTTP_ADDR",
	"inspect-timeout":       "BITQUEUE_INSPECT_TIMEOUT",
	"log-format":            "BITQUEUE_LOG_FORMAT",
	"log-level":             "BITQUEUE_LOG_LEVEL",
	"redis-ca":              redisconn.EnvCA,
	"redis-tls-server-name": redisconn.EnvServerName,
}

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
}

func parse(args []string, getenv func(string) string, stdout io.Writer) (config, error) {
	var c config
	var queues string
	fs := flag.NewFlagSet("exporter", flag.ContinueOnError)
	fs.StringVar(&c.redisURL, "redis", redisconn.DefaultURL, redisconn.URLHelp)
	c.redisOpts.AddFlags(fs)
	fs.StringVar(&queues, "queue", "bits", "queue to report on (comma-separated for several), as given to the workers")
	fs.IntVar(&c.shards, "shards", 1, fmt.Sprintf("report on each queue's shards, <queue>-0 … <queue>-(N-1), as the workers' --shards, 1..%d", base.MaxShards))
	fs.StringVar(&c.httpAddr, "http-addr", DefaultHTTPAddr, "serve /healthz and /metrics on this host:port (port 0: a free one, logged)")
	fs.DurationVar(&c.inspectTimeout, "inspect-timeout", 5*time.Second, "how long one scrape waits for Redis before reporting bitqueue_queue_inspect_success 0, 100ms..1m")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	if err := cli.Parse(fs, args, getenv, env); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			cli.PrintUsage(stdout, fs, "exporter [flags]", env)
		}
		return c, err
	}
	c.redisOpts.ReadSecrets(getenv)
	c.redisFrom = cli.Origin(fs, "redis")
	if err := base.CheckShards(c.shards); err != nil {
		return c, &cli.UsageError{Err: err}
	}
	names, err := cli.QueueList(queues, cli.Source(fs, "queue"))
	if err != nil {
		return c, err
	}
	for _, q := range names {
		c.queues = append(c.queues, base.Queues(q, c.shards)...)
	}
	switch {
	case c.inspectTimeout < 100*time.Millisecond || c.inspectTimeout > time.Minute:
		return c, cli.Usagef("--inspect-timeout %s out of range [100ms, 1m]", c.inspectTimeout)
	}
	if _, port, err := net.SplitHostPort(c.httpAddr); err != nil || port == "" {
		return c, cli.Usagef("--http-addr %q: want host:port or :port", c.httpAddr)
	}
	return c, nil
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
	<-ctx.Done()
	log.Info("exporter stopping")
	return srv.Stop(5 * time.Second)
}
