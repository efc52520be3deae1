package cli_test

import (
	"fmt"
	"time"

	"bitqueue/internal/cli"
)

// A command declares each flag once: its variable follows from its name,
// its group in -h from the last Group. Checks made after parsing name the
// value as the user gave it, flag or variable.
func ExampleFlagSet() {
	var shards int
	var wait time.Duration
	fs := cli.NewFlagSet("worker", "BITQUEUE_")
	fs.Group("Queues")
	fs.IntVar(&shards, "shards", 1, "queues to pull from, 1..256")
	fs.Group("Redis")
	fs.DurationVar(&wait, "redis-wait", 30*time.Second, "how long to wait for Redis")

	env := map[string]string{"BITQUEUE_SHARDS": "0"}
	if err := fs.Parse([]string{"--redis-wait", "1m"}, func(k string) string { return env[k] }); err != nil {
		fmt.Println(err)
		return
	}
	if shards < 1 {
		fmt.Println(cli.Usagef("%s out of range [1, 256]", fs.Source("shards")))
	}
	fmt.Println(fs.Source("redis-wait"))
	// Output:
	// BITQUEUE_SHARDS=0 out of range [1, 256]
	// --redis-wait 1m
}

// Parse refuses a value with a message that names it as given, never the
// flag package's own.
func ExampleParse() {
	fs, _ := newFlags()
	err := cli.Parse(fs, nil, func(k string) string { return map[string]string{"BQ_TIMEOUT": "5"}[k] }, env)
	fmt.Println(err)
	// Output:
	// BQ_TIMEOUT=5 (for --timeout): want a duration such as 500ms, 30s, 5m or 1h30m
}

// Subcommand lets flags come before the subcommand.
func ExampleSubcommand() {
	fmt.Println(cli.Subcommand([]string{"--redis", "redis://h:6379/0", "status", "--run-id", "r1"}, "status", "requeue"))
	// Output:
	// [status --redis redis://h:6379/0 --run-id r1]
}
