package main

import (
	"io"
	"net"
	"strconv"
	"time"

	"bitqueue/internal/base"
	"bitqueue/internal/cli"
)

// command is how the exporter's flags read their variables: BITQUEUE_ and
// the flag's name unless a var tag says otherwise.
var command = cli.Command{
	Name:   "exporter",
	Prefix: "BITQUEUE_",
	Vars:   map[string]string{"max_shards": strconv.Itoa(base.MaxShards), "http_addr": DefaultHTTPAddr},
}

// flags are the exporter's command line.
type flags struct {
	Queue          string        `name:"queue" default:"bits" placeholder:"queue" group:"Queues" help:"queue to report on (comma-separated for several), as given to the workers"`
	Shards         int           `name:"shards" default:"1" group:"Queues" help:"report on each queue's shards, <queue>-0 … <queue>-(N-1), as the workers' --shards, 1..${max_shards}"`
	HTTPAddr       string        `name:"http-addr" default:"${http_addr}" placeholder:"host:port" group:"HTTP" help:"serve /healthz and /metrics on this host:port (port 0: a free one, logged)"`
	InspectTimeout time.Duration `name:"inspect-timeout" default:"5s" group:"HTTP" help:"how long one scrape waits for Redis before reporting bitqueue_queue_inspect_success 0, 100ms..1m"`
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
	}
	if base.CheckShards(c.shards) != nil {
		return c, cli.Usagef("%s out of range [1, %d]", p.Source("shards"), base.MaxShards)
	}
	names, err := cli.QueueList(f.Queue, p.Source("queue"))
	if err != nil {
		return c, err
	}
	for _, q := range names {
		c.queues = append(c.queues, base.Queues(q, c.shards)...)
	}
	if c.inspectTimeout < 100*time.Millisecond || c.inspectTimeout > time.Minute {
		return c, cli.Usagef("%s out of range [100ms, 1m]", p.Source("inspect-timeout"))
	}
	if _, port, err := net.SplitHostPort(c.httpAddr); err != nil || port == "" {
		return c, cli.Usagef("%s: want host:port or :port", p.Source("http-addr"))
	}
	return c, f.Log.Check(p)
}
