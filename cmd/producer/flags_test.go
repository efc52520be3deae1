package main

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/cli"
	"bitqueue/redistest"
)

// parse parses and checks the command line of producing, as run does.
func parse(args []string, getenv func(string) string, stdout io.Writer) (config, error) {
	f, p, err := parseArgs(args, getenv, stdout)
	if err != nil {
		return config{}, err
	}
	if p.Command != "" {
		return config{}, cli.Usagef("producer %s: not a run to produce", p.Command)
	}
	return f.config(p, getenv)
}

// parseInspect parses and checks the command line of the inspect
// subcommand cmd, args being what follows cmd, as run does.
func parseInspect(cmd string, args []string, getenv func(string) string, stdout io.Writer) (inspectConfig, error) {
	f, p, err := parseArgs(append([]string{cmd}, args...), getenv, stdout)
	if err != nil {
		return inspectConfig{}, err
	}
	return f.inspectConfig(p, getenv)
}

// TestSubcommandAfterFlags runs `producer --redis URL status --run-id ID`:
// the flags before the subcommand are the subcommand's.
func TestSubcommandAfterFlags(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	_, prefix := r.Namespace(t)
	for _, args := range [][]string{
		{"--redis", r.URL, "--prefix", prefix, "status", "--run-id", "no-such-run"},
		{"status", "--redis", r.URL, "--prefix", prefix, "--run-id", "no-such-run"},
		{"--redis=" + r.URL, "requeue", "--prefix", prefix, "--run-id", "no-such-run"},
	} {
		err := run(context.Background(), args, func(string) string { return "" }, io.Discard, io.Discard)
		require.ErrorContains(t, err, "unknown run", "%v: the subcommand ran against the Redis given before it", args)
		require.Equal(t, cli.ExitFailure, cli.ExitCode(err))
	}
}

func TestEnvironment(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		env   map[string]string
		check func(t *testing.T, c config)
	}{
		{"REDIS_URL", map[string]string{"REDIS_URL": "redis://old:1/0"}, func(t *testing.T, c config) { require.Equal(t, "redis://old:1/0", c.Redis.URL) }},
		{"BITQUEUE_REDIS_URL wins", map[string]string{"REDIS_URL": "redis://old:1/0", "BITQUEUE_REDIS_URL": "redis://new:1/0"}, func(t *testing.T, c config) { require.Equal(t, "redis://new:1/0", c.Redis.URL) }},
		{"concurrency", map[string]string{"BITQUEUE_PRODUCER_CONCURRENCY": "32"}, func(t *testing.T, c config) { require.Equal(t, 32, c.Concurrency) }},
		{"the workers' concurrency is not the producer's", map[string]string{"BITQUEUE_CONCURRENCY": "500"}, func(t *testing.T, c config) { require.Equal(t, 8, c.Concurrency) }},
		{"batch size", map[string]string{"BITQUEUE_BATCH_SIZE": "10"}, func(t *testing.T, c config) { require.Equal(t, 10, c.BatchSize) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := parse([]string{"--count", "1"}, func(k string) string { return tt.env[k] }, io.Discard)
			require.NoError(t, err)
			tt.check(t, c)
		})
	}
}

// TestValueErrors checks that every refused value is named as the user gave
// it: the flag with its text, or the environment variable, never a flag the
// user did not pass.
func TestValueErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"negative count", []string{"--count", "-5"}, nil, `--count "-5": want a whole number from 1 to 10000000000`},
		{"bad variable", []string{"--count", "1"}, map[string]string{"BITQUEUE_BATCH_SIZE": "lots"}, "BITQUEUE_BATCH_SIZE=lots (for --batch-size): want a whole number from 1 to 100000"},
		{"unknown flag", []string{"--cont", "1"}, nil, "unknown flag --cont (see producer -h)"},
		{"count from the environment", nil, map[string]string{"BITQUEUE_COUNT": "0"}, "BITQUEUE_COUNT=0 out of range [1, 10000000000]"},
		{"count and input", []string{"--count", "5"}, map[string]string{"BITQUEUE_INPUT": "nums.txt"}, "give exactly one of --count N and --input FILE, not both: --count 5 and BITQUEUE_INPUT=nums.txt"},
		{"neither count nor input", nil, nil, "give exactly one of --count N and --input FILE (or BITQUEUE_COUNT, BITQUEUE_INPUT): neither is set"},
		{"count from a flag", []string{"--count", "0"}, map[string]string{"BITQUEUE_COUNT": "5"}, "--count 0 out of range [1, 10000000000]"},
		{"shards from the environment", []string{"--count", "1"}, map[string]string{"BITQUEUE_SHARDS": "0"}, "BITQUEUE_SHARDS=0 out of range [1, 256]"},
		{"batch size from the environment", []string{"--count", "1"}, map[string]string{"BITQUEUE_BATCH_SIZE": "0"}, "BITQUEUE_BATCH_SIZE=0 out of range [1, 100000]"},
		{"task timeout as written", []string{"--count", "1", "--task-timeout", "25h"}, nil, "--task-timeout 25h out of range [1s, 24h]"},
		{"negative timeout", []string{"--count", "1", "--wait", "--timeout", "-1s"}, nil, `--timeout "-1s" must not be negative`},
		{"wait timeout from the environment", []string{"--count", "1"}, map[string]string{"BITQUEUE_WAIT_TIMEOUT": "5s"}, "BITQUEUE_WAIT_TIMEOUT=5s needs --wait"},
		{"out without wait", []string{"--count", "1", "--out", "-"}, nil, `--out "-" needs --wait`},
		{"json and out -", []string{"--count", "1", "--wait", "--out", "-"}, map[string]string{"BITQUEUE_JSON": "true"}, `BITQUEUE_JSON=true and --out "-" both write to stdout; give --out a file`},
		{"max with input", []string{"--input", "x"}, map[string]string{"BITQUEUE_MAX": "9"}, "BITQUEUE_MAX=9 applies to --count, not --input"},
		{"log format", []string{"--count", "1"}, map[string]string{"BITQUEUE_LOG_FORMAT": "xml"}, "BITQUEUE_LOG_FORMAT=xml: want text or json"},
		{"log level", []string{"--count", "1", "--log-level", "loud"}, nil, "--log-level loud: want debug, info, warn or error"},
		{"queue", []string{"--count", "1"}, map[string]string{"BITQUEUE_QUEUE": "a b"}, `BITQUEUE_QUEUE="a b" must be non-empty without spaces`},
		{"run id", []string{"--count", "1"}, map[string]string{"BITQUEUE_RUN_ID": "a:b"}, "BITQUEUE_RUN_ID=a:b: character ':' at 1 is not one of [A-Za-z0-9._-]"},
		{"catch-up from the environment", []string{"--count", "1", "--schedule", "@daily"}, map[string]string{"BITQUEUE_CATCH_UP": "1001"}, "BITQUEUE_CATCH_UP=1001 out of range [0, 1000]"},
		{"name without schedule", []string{"--count", "1"}, map[string]string{"BITQUEUE_SCHEDULE_NAME": "x"}, "BITQUEUE_SCHEDULE_NAME=x needs --schedule"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := parse(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			require.ErrorContains(t, err, tt.want)
			require.Equal(t, cli.ExitUsage, cli.ExitCode(err))
		})
	}
}

func noEnv(string) string { return "" }

func TestParseSchedule(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		want string // error message part; "" for success
	}{
		{"every second", []string{"-schedule", "@every 1s", "-count", "10"}, ""},
		{"cron in a zone from a file", []string{"-schedule", "0 12 * * 1-5", "-tz", "Europe/Paris", "-input", "numbers.txt", "-name", "nightly"}, ""},
		{"catch-up and retention", []string{"-schedule", "@hourly", "-count", "10", "-catch-up", "24", "-retention", "2h"}, ""},
		{"one-shot retention", []string{"-count", "10", "-retention", "1h"}, ""},
		{"bad spec", []string{"-schedule", "61 * * * *", "-count", "10"}, `--schedule "61 * * * *": end of range (61) above maximum (59)`},
		{"sub-second every", []string{"-schedule", "@every 500ms", "-count", "10"}, "whole number of seconds"},
		{"unknown zone", []string{"-schedule", "@daily", "-tz", "Mars/Olympus", "-count", "10"}, "--tz Mars/Olympus: unknown time zone"},
		{"local zone", []string{"-schedule", "@daily", "-tz", "Local", "-count", "10"}, "--tz Local differs from host to host"},
		{"bad name", []string{"-schedule", "@daily", "-name", "a:b", "-count", "10"}, "--name a:b must be 1 to 111 characters"},
		{"long name", []string{"-schedule", "@daily", "-name", string(bytes.Repeat([]byte("n"), 112)), "-count", "10"}, "must be 1 to 111 characters"},
		{"empty name", []string{"-schedule", "@daily", "-name", "", "-count", "10"}, `--name ""`},
		{"run id", []string{"-schedule", "@daily", "-run-id", "x", "-count", "10"}, "--run-id x does not apply to --schedule"},
		{"seed", []string{"-schedule", "@daily", "-seed", "7", "-count", "10"}, "--seed 7 does not apply to --schedule"},
		{"stdin", []string{"-schedule", "@daily", "-input", "-"}, `--input "-" (stdin) cannot be read again`},
		{"wait", []string{"-schedule", "@daily", "-count", "10", "-wait"}, "--wait applies to one-shot runs, not to --schedule"},
		{"out", []string{"-schedule", "@daily", "-count", "10", "-out", "x"}, "--out x applies to one-shot runs, not to --schedule"},
		{"json", []string{"-schedule", "@daily", "-count", "10", "-json"}, "--json applies to one-shot runs, not to --schedule"},
		{"retention below a minute", []string{"-schedule", "@daily", "-count", "10", "-retention", "30s"}, "--retention 30s is below 1m"},
		{"retention none", []string{"-schedule", "@daily", "-count", "10", "-retention", "0s"}, "--retention 0s is below 1m"},
		{"retention a minute", []string{"-schedule", "@daily", "-count", "10", "-retention", "1m"}, ""},
		{"catch-up none", []string{"-schedule", "@daily", "-count", "10", "-catch-up", "0"}, ""},
		{"catch-up too large", []string{"-schedule", "@daily", "-count", "10", "-catch-up", "1001"}, "--catch-up 1001 out of range [0, 1000]"},
		{"catch-up negative", []string{"-schedule", "@daily", "-count", "10", "-catch-up", "-1"}, `--catch-up "-1" out of range`},
		{"retention negative", []string{"-count", "10", "-retention", "-1s"}, `--retention "-1s" out of range [0, 168h]`},
		{"retention too long", []string{"-schedule", "@daily", "-count", "10", "-retention", "200h"}, "--retention 200h out of range [0, 168h]"},
		{"tz without schedule", []string{"-count", "10", "-tz", "UTC"}, "--tz UTC needs --schedule"},
		{"name without schedule", []string{"-count", "10", "-name", "x"}, "--name x needs --schedule"},
		{"catch-up without schedule", []string{"-count", "10", "-catch-up", "1"}, "--catch-up 1 needs --schedule"},
		{"no input", []string{"-schedule", "@daily"}, "exactly one of --count N and --input FILE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := parse(tc.args, noEnv, io.Discard)
			if tc.want == "" {
				require.NoError(t, err)
				if c.Schedule != "" {
					require.NotNil(t, c.sched)
				}
				return
			}
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
			require.Equal(t, cli.ExitUsage, cli.ExitCode(err))
		})
	}
}

func TestTickRetention(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		want time.Duration
	}{
		{"every second: at least a minute", []string{"-schedule", "@every 1s"}, time.Minute},
		{"every 5 minutes: two periods", []string{"-schedule", "@every 5m"}, 10 * time.Minute},
		{"hourly", []string{"-schedule", "@hourly"}, 2 * time.Hour},
		{"daily: at most a day", []string{"-schedule", "@daily"}, 24 * time.Hour},
		{"given", []string{"-schedule", "@every 1s", "-retention", "10m"}, 10 * time.Minute},
		{"given as the least", []string{"-schedule", "@hourly", "-retention", "1m"}, time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parse(append(tc.args, "-count", "1"), noEnv, io.Discard)
			require.NoError(t, err)
			tick := c.sched.Next(time.Date(2026, 11, 29, 11, 59, 59, 0, time.UTC))
			require.Equal(t, tc.want, c.producer(nil, nil, &fakeClock{}).Retention(tick))
		})
	}
}
