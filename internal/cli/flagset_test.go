package cli_test

import (
	"bytes"
	"errors"
	"flag"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/cli"
)

func flagErrHelp() error { return flag.ErrHelp }

// newGrouped is a command declared with a FlagSet: groups, derived and
// explicit variables, a subcommand and examples.
func newGrouped() (*cli.FlagSet, *config) {
	c := &config{}
	fs := cli.NewFlagSet("grouped", "BQ_")
	fs.Synopsis = []string{"grouped [flags]", "grouped sub [flags]"}
	fs.Command("sub", "does the other thing")
	fs.Group("Input")
	fs.IntVar(&c.count, "count", 10, "how many integers, 1..100")
	fs.StringVar(&c.name, "name", "", "run `id`")
	fs.Env("name", "")
	fs.Group("Redis")
	fs.StringVar(&c.redis, "redis", "redis://default:6379/0", "Redis `URL`")
	fs.Env("redis", "BITQUEUE_REDIS_URL")
	fs.DurationVar(&c.timeout, "timeout", time.Minute, "how long to wait")
	fs.Group("Logging")
	fs.BoolVar(&c.verbose, "verbose", false, "log more")
	fs.Examples = []string{"grouped --count 3", "BQ_COUNT=3 grouped"}
	return fs, c
}

func TestFlagSetUsage(t *testing.T) {
	t.Parallel()
	fs, _ := newGrouped()
	err := fs.Parse([]string{"-h"}, getenv(nil))
	require.ErrorIs(t, err, flag.ErrHelp)
	var out bytes.Buffer
	fs.PrintUsage(&out)
	require.Equal(t, `Usage: grouped [flags]
       grouped sub [flags]

Commands:
  sub        does the other thing

Input:
  --count int
    	how many integers, 1..100 (default 10) [$BQ_COUNT]
  --name id
    	run id

Redis:
  --redis URL
    	Redis URL (default redis://default:6379/0) [$BITQUEUE_REDIS_URL, $REDIS_URL]
  --timeout duration
    	how long to wait (default 1m0s) [$BQ_TIMEOUT]

Logging:
  --verbose
    	log more [$BQ_VERBOSE]

Other:
  --version
    	print the version and exit
  -h, --help
    	print this help

Examples:
  grouped --count 3
  BQ_COUNT=3 grouped
`, out.String())
}

func TestFlagSetParse(t *testing.T) {
	t.Parallel()
	fs, c := newGrouped()
	vars := map[string]string{"BQ_COUNT": "7", "REDIS_URL": "redis://old:1/0", "BQ_NAME": "ignored", "BQ_VERBOSE": "true"}
	require.NoError(t, fs.Parse([]string{"--timeout", "5s"}, getenv(vars)))
	require.Equal(t, config{redis: "redis://old:1/0", count: 7, verbose: true, timeout: 5 * time.Second}, *c)
	require.Equal(t, "BQ_COUNT=7", fs.Source("count"))
	require.Equal(t, "REDIS_URL=redis://old:1/0", fs.Source("redis"))
	require.Equal(t, "--timeout 5s", fs.Source("timeout"))
	require.True(t, fs.Given("count"))
	require.False(t, fs.Given("name"))
	require.Equal(t, map[string]string{"count": "BQ_COUNT", "redis": "BITQUEUE_REDIS_URL", "timeout": "BQ_TIMEOUT", "verbose": "BQ_VERBOSE"}, fs.Vars())

	fs, _ = newGrouped()
	err := fs.Parse(nil, getenv(map[string]string{"BQ_COUNT": "lots"}))
	require.Equal(t, "BQ_COUNT=lots (for --count): want a whole number from 1 to 100", err.Error())
	var ue *cli.UsageError
	require.True(t, errors.As(err, &ue))
}

// TestPrintHelp groups a plain flag.FlagSet's flags: those of no group come
// first, under "Flags".
func TestPrintHelp(t *testing.T) {
	t.Parallel()
	fs, _ := newFlags()
	require.NoError(t, cli.Parse(fs, nil, getenv(nil), env))
	var out bytes.Buffer
	cli.PrintHelp(&out, fs, cli.Help{
		Synopsis: []string{"test [flags]"},
		Groups:   []cli.Group{{Title: "Redis", Flags: []string{"redis", "timeout"}}, {Title: "Empty"}},
		Examples: []string{"test --count 3"},
	}, env)
	require.Equal(t, `Usage: test [flags]

Flags:
  --count int
    	how many integers (default 10) [$BQ_COUNT]
  --name id
    	run id
  --verbose
    	log more [$BQ_VERBOSE]

Redis:
  --redis URL
    	Redis URL (default redis://default:6379/0) [$BQ_REDIS]
  --timeout duration
    	how long to wait (default 1m0s) [$BQ_TIMEOUT]

Other:
  --version
    	print the version and exit
  -h, --help
    	print this help

Examples:
  test --count 3
`, out.String())

	require.PanicsWithValue(t, `cli: help group "Redis" names --nope, which test does not have`, func() {
		cli.PrintHelp(&out, fs, cli.Help{Groups: []cli.Group{{Title: "Redis", Flags: []string{"nope"}}}}, env)
	})
}
