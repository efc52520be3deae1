package main

import (
	"io"
	"strconv"
	"strings"
	"time"

	"bitqueue/internal/cli"
)

// command is how the slow worker's flags read their variables:
// BITQUEUE_SLOWWORKER_ and the flag's name, the shared flags aside.
var command = cli.Command{Name: "slowworker", Prefix: "BITQUEUE_SLOWWORKER_"}

// flags are the slow worker's command line.
type flags struct {
	Queue           string        `name:"queue" default:"bits" help:"queue to pull batches from"`
	Concurrency     int           `name:"concurrency" default:"4" help:"batches processed at once"`
	Delay           time.Duration `name:"delay" default:"1s" help:"how long each slow batch stalls before it is converted (it gives up early when its context ends)"`
	SlowSeqs        string        `name:"slow-seqs" help:"comma-separated batch numbers that stall (empty: every batch)"`
	ShutdownTimeout time.Duration `name:"shutdown-timeout" default:"5s" help:"on SIGTERM, how long in-flight batches may finish"`
	Prefix          cli.Prefix    `embed:""`
	Redis           cli.Redis     `embed:"" group:"Redis"`
	Log             cli.Logging   `embed:"" group:"Logging"`
}

// parse parses the slow worker's command line: its flags, and the batch
// numbers of --slow-seqs.
func parse(args []string, getenv func(string) string, stdout io.Writer) (flags, map[uint64]bool, error) {
	var f flags
	p, err := cli.Parse(command, &f, args, getenv, stdout)
	if err != nil {
		return f, nil, err
	}
	if err := f.Log.Check(p); err != nil {
		return f, nil, err
	}
	slow := map[uint64]bool{}
	for s := range strings.SplitSeq(f.SlowSeqs, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return f, nil, cli.Usagef("%s: %q is not a batch number", p.Source("slow-seqs"), s)
		}
		slow[n] = true
	}
	return f, slow, nil
}
