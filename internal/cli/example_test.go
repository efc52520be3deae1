package cli_test

import (
	"fmt"
	"io"
	"strings"
	"time"

	"bitqueue/internal/cli"
)

// A command declares each flag once, as a field: its variable follows from
// its name, its group in -h from its tag, the range of its values from its
// help; the flags commands share are embedded. Checks made after parsing
// name the value as the user gave it, flag or variable.
func ExampleParse() {
	var flags struct {
		Shards int           `name:"shards" default:"1" group:"Queues" help:"queues to pull from, 1..256"`
		Wait   time.Duration `name:"wait" default:"30s" group:"Queues" help:"how long to wait"`
		Queue  string        `name:"queue" default:"bits" group:"Queues" help:"queue to pull from"`
		Log    cli.Logging   `embed:"" group:"Logging"`
	}
	env := map[string]string{"BITQUEUE_QUEUE": "a b"}
	p, err := cli.Parse(cli.Command{Name: "worker", Prefix: "BITQUEUE_"}, &flags, []string{"--wait", "1m"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		fmt.Println(err)
		return
	}
	if strings.Contains(flags.Queue, " ") {
		fmt.Println(cli.Usagef("%s must not hold spaces", p.Source("queue")))
	}
	fmt.Println(p.Source("wait"), flags.Log.Format)
	// Output:
	// BITQUEUE_QUEUE="a b" must not hold spaces
	// --wait 1m text
}

// Parse refuses a value with a message that names it as given, never
// kong's own; a value outside the range its flag's help gives, so too.
func ExampleParse_outOfRange() {
	var flags struct {
		Shards int `name:"shards" default:"1" help:"queues to pull from, 1..256"`
	}
	_, err := cli.Parse(cli.Command{Name: "worker", Prefix: "BITQUEUE_"}, &flags, nil, func(k string) string { return map[string]string{"BITQUEUE_SHARDS": "0"}[k] }, io.Discard)
	fmt.Println(err)
	// Output:
	// BITQUEUE_SHARDS=0 out of range [1, 256]
}

// Parse refuses a value with a message that names it as given, never
// kong's own.
func ExampleParse_refused() {
	_, err := cli.Parse(testCmd, &config{}, nil, func(k string) string { return map[string]string{"BQ_TIMEOUT": "5"}[k] }, io.Discard)
	fmt.Println(err)
	// Output:
	// BQ_TIMEOUT=5 (for --timeout): want a duration such as 500ms, 30s, 5m or 1h30m
}

// A subcommand's flags may come before it, and single dashes still work.
func ExampleParse_subcommand() {
	var g grouped
	p, err := cli.Parse(groupedCmd, &g, []string{"-url", "http://h/", "sub", "--log-format", "json"}, func(string) string { return "" }, io.Discard)
	fmt.Println(p.Command, g.Sub.Probe, g.Log.Format, err)
	// Output:
	// sub http://h/ json <nil>
}
