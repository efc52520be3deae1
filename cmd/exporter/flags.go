package main

import (
	"io"
	"net/url"
	"time"

	"bitqueue/internal/cli"
)

// command is how the exporter's flags read their variables: BITQUEUE_ and
// the flag's name unless a var tag says otherwise.
var command = cli.Command{
	Name:   "exporter",
	Prefix: "BITQUEUE_",
	Vars:   map[string]string{"http_addr": DefaultHTTPAddr},
}

// flags are the exporter's command line.
type flags struct {
	Queue          string        `name:"queue" default:"${queue}" placeholder:"queue" group:"Queues" help:"queue to report on (comma-separated for several), as given to the workers"`
	Shards         int           `name:"shards" default:"1" group:"Queues" help:"report on each queue's shards, <queue>-0 … <queue>-(N-1), as the workers' --shards, 1..${max_shards}"`
	HTTPAddr       string        `name:"http-addr" default:"${http_addr}" placeholder:"host:port" group:"HTTP" help:"serve /healthz and /metrics on this host:port (port 0: a free one, logged)"`
	InspectTimeout time.Duration `name:"inspect-timeout" default:"5s" group:"HTTP" help:"how long one scrape waits for Redis before reporting bitqueue_queue_inspect_success 0, 100ms..1m"`
	UIAddr         string        `name:"ui-addr" placeholder:"host:port" group:"Web UI" help:"serve asynqmon, asynq's web UI (queues, tasks, batches' payloads, workers), on this host:port (port 0: a free one, logged); none when empty"`
	UIReadOnly     bool          `name:"ui-read-only" group:"Web UI" help:"the web UI only shows: it refuses every request but GET (no pausing queues, no deleting, running or archiving tasks)"`
	UIPrometheus   string        `name:"ui-prometheus" placeholder:"URL" group:"Web UI" help:"base URL of the Prometheus that scrapes this exporter, for the web UI's metrics tab (none when empty)"`
	Redis          cli.Redis     `embed:"" group:"Redis"`
	Log            cli.Logging   `embed:"" group:"Logging"`
}

func (flags) Usage() cli.Usage {
	return cli.Usage{
		Synopsis: []string{"exporter [flags]"},
		Examples: []string{
			"exporter --redis redis://10.0.0.5:6379/0",
			"# the queues of workers started with --queue a,b --shards 4",
			"exporter --queue a,b --shards 4 --http-addr :9101",
			"# asynq's web UI on :8081, showing only, its metrics tab from Prometheus",
			"exporter --ui-addr :8081 --ui-read-only --ui-prometheus http://prometheus:9090",
		},
	}
}

// parse parses the exporter's command line, then the environment, and
// checks the values; each message names a value as the user gave it, flag
// or variable.
func parse(args []string, getenv func(string) string, stdout io.Writer) (config, error) {
	var f flags
	p, err := cli.Parse(command, &f, args, getenv, stdout)
	if err != nil {
		return config{}, err
	}
	c := config{
		redisURL:       f.Redis.URL,
		redisFrom:      p.Origin("redis"),
		redisOpts:      f.Redis.Options(getenv),
		shards:         f.Shards,
		httpAddr:       f.HTTPAddr,
		inspectTimeout: f.InspectTimeout,
		logFormat:      f.Log.Format,
		logLevel:       f.Log.Level,
		ui:             uiConfig{addr: f.UIAddr, addrFrom: p.Origin("ui-addr"), readOnly: f.UIReadOnly, prometheus: f.UIPrometheus},
	}
	if c.queues, err = cli.ShardedQueues(f.Queue, p.Source("queue"), c.shards); err != nil {
		return c, err
	}
	if !cli.IsHostPort(c.httpAddr) {
		return c, cli.Usagef("%s: want host:port or :port", p.Source("http-addr"))
	}
	if err := checkUI(c.ui, p); err != nil {
		return c, err
	}
	return c, f.Log.Check(p)
}

// checkUI checks the web UI's flags: an address to serve on, a Prometheus
// URL it can query, and no setting of a UI that is not served.
func checkUI(c uiConfig, p *cli.Parsed) error {
	switch {
	case c.addr == "" && c.readOnly:
		return cli.Usagef("%s applies to the web UI, and no --ui-addr serves one", p.Source("ui-read-only"))
	case c.addr == "" && c.prometheus != "":
		return cli.Usagef("%s applies to the web UI, and no --ui-addr serves one", p.Source("ui-prometheus"))
	case c.addr == "":
		return nil
	}
	if !cli.IsHostPort(c.addr) {
		return cli.Usagef("%s: want host:port or :port", p.Source("ui-addr"))
	}
	if c.prometheus != "" {
		u, err := url.Parse(c.prometheus)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return cli.Usagef("%s: want Prometheus's base URL, http://host:port[/path]", p.Source("ui-prometheus"))
		}
	}
	return nil
}
