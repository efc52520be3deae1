package main

import (
	"io"
	"os"
	"path/filepath"

	"bitqueue/internal/cli"
)

// command is how the demo's flags read their variables: BITQUEUE_DEMO_ and
// the flag's name, so that the variables of the commands it starts are not
// the demo's.
var command = cli.Command{
	Name:   "demo",
	Prefix: "BITQUEUE_DEMO_",
}

// flags are the demo's command line. Its --redis is not the shared
// cli.Redis: empty by default, for an embedded Redis, and without TLS.
type flags struct {
	Count     uint64 `name:"count" default:"1000000" group:"Input" help:"random integers to convert, 1..100000000"`
	Max       uint64 `name:"max" default:"1048576" group:"Input" help:"integers are drawn from [0, max), max in 1..2^63"`
	Seed      uint64 `name:"seed" default:"1" group:"Input" help:"seed of the random integers"`
	BatchSize int    `name:"batch-size" default:"1000" group:"Input" help:"integers per batch, 1..${max_batch}"`
	Workers   int    `name:"workers" default:"2" group:"Fleet" help:"worker processes to start, 1..64"`
	Bin       string `name:"bin" placeholder:"dir" group:"Fleet" help:"directory holding the worker and producer binaries (default: beside this one)"`
	Redis     string `name:"redis" placeholder:"URL" group:"Redis" help:"use the Redis at this URL instead of an embedded one"`
}

func (flags) Usage() cli.Usage {
	return cli.Usage{
		Synopsis: []string{"demo [flags]"},
		Examples: []string{
			"demo",
			"demo --count 100000 --workers 4",
			"demo --redis redis://127.0.0.1:6379/0",
		},
	}
}

// parse parses the demo's command line, then the environment, and checks
// the values; each message names a value as the user gave it, flag or
// variable.
func parse(args []string, getenv func(string) string, stdout io.Writer) (config, error) {
	var f flags
	_, err := cli.Parse(command, &f, args, getenv, stdout)
	if err != nil {
		return config{}, err
	}
	c := config{count: f.Count, max: f.Max, seed: f.Seed, workers: f.Workers, batchSize: f.BatchSize, bin: f.Bin, redisURL: f.Redis}
	if c.bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return c, err
		}
		c.bin = filepath.Dir(exe)
	}
	return c, nil
}
