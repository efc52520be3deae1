package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/cli"
)

// TestParseNamesTheValue checks that every refused value is named as the
// user gave it: the flag, or the environment variable.
func TestParseNamesTheValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string // the whole message
	}{
		{"shards by flag", []string{"--shards", "0"}, nil, "--shards 0 out of range [1, 256]"},
		{"shards by variable", nil, map[string]string{"BITQUEUE_SHARDS": "0"}, "BITQUEUE_SHARDS=0 out of range [1, 256]"},
		{"concurrency by variable", nil, map[string]string{"BITQUEUE_CONCURRENCY": "5000"}, "BITQUEUE_CONCURRENCY=5000 out of range [1, 1000]"},
		{"loops by flag", []string{"--loops", "0"}, nil, "--loops 0 out of range [1, 64]"},
		{"loops by variable", nil, map[string]string{"BITQUEUE_LOOPS": "65"}, "BITQUEUE_LOOPS=65 out of range [1, 64]"},
		{"concurrency not a number", []string{"--concurrency", "-"}, nil, `--concurrency "-": want a whole number from 1 to 1000`},
		{"cache bits by variable", nil, map[string]string{"BITQUEUE_CACHE_BITS": "40"}, "BITQUEUE_CACHE_BITS=40 out of range [1, 28]"},
		{"result ttl", []string{"--result-ttl", "10ms"}, nil, "--result-ttl 10ms must be at least 1s"},
		{"result ttl not a duration", nil, map[string]string{"BITQUEUE_RESULT_TTL": "1 day"}, `BITQUEUE_RESULT_TTL="1 day" (for --result-ttl): want a duration such as 500ms, 30s, 5m or 1h30m`},
		{"prefix with a space", nil, map[string]string{"BITQUEUE_PREFIX": "a b"}, `BITQUEUE_PREFIX="a b" must be non-empty without spaces`},
		{"empty queue", []string{"--queue", ","}, nil, "--queue , names no queue"},
		{"poll interval", nil, map[string]string{"BITQUEUE_POLL_INTERVAL": "2m"}, "BITQUEUE_POLL_INTERVAL=2m out of range [1ms, 1m]"},
		{"log format", nil, map[string]string{"BITQUEUE_LOG_FORMAT": "xml"}, "BITQUEUE_LOG_FORMAT=xml: want text or json"},
		{"log level", []string{"--log-level", "loud"}, nil, "--log-level loud: want debug, info, warn or error"},
		{"http addr", nil, map[string]string{"BITQUEUE_HTTP_ADDR": "localhost"}, "BITQUEUE_HTTP_ADDR=localhost: want host:port, :port, auto or off"},
		{"unknown flag", []string{"--shard", "2"}, nil, "unknown flag --shard (see worker -h)"},
		{"missing value", []string{"--queue"}, nil, "--queue needs a value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := parse(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			require.Equal(t, cli.ExitUsage, cli.ExitCode(err))
			require.EqualError(t, err, tt.want)
		})
	}
}

// TestEveryFlagHasAVariable checks that each flag of the worker answers to
// one BITQUEUE_ variable, and that the variables that existed before keep
// working.
func TestEveryFlagHasAVariable(t *testing.T) {
	t.Parallel()
	vars := map[string]string{}
	for _, sub := range []string{"", "probe"} {
		docs, err := cli.Flags(command, &flags{}, sub)
		require.NoError(t, err)
		for _, d := range docs {
			require.NotEmpty(t, d.Variables, "--%s has no variable", d.Name)
			require.True(t, strings.HasPrefix(d.Variables[0], "BITQUEUE_"), d.Variables[0])
			if sub == "" {
				vars[d.Name] = d.Variables[0]
			}
		}
	}
	for name, variable := range map[string]string{
		"redis": "BITQUEUE_REDIS_URL", "redis-wait": "BITQUEUE_REDIS_WAIT", "queue": "BITQUEUE_QUEUE",
		"concurrency": "BITQUEUE_CONCURRENCY", "loops": "BITQUEUE_LOOPS", "cache-bits": "BITQUEUE_CACHE_BITS", "result-ttl": "BITQUEUE_RESULT_TTL",
		"prefix": "BITQUEUE_PREFIX", "shutdown-timeout": "BITQUEUE_SHUTDOWN_TIMEOUT", "poll-interval": "BITQUEUE_POLL_INTERVAL",
		"log-format": "BITQUEUE_LOG_FORMAT", "log-level": "BITQUEUE_LOG_LEVEL", "http-addr": "BITQUEUE_HTTP_ADDR",
		"shards": "BITQUEUE_SHARDS", "redis-ca": "BITQUEUE_REDIS_CA", "redis-tls-server-name": "BITQUEUE_REDIS_TLS_SERVER_NAME",
	} {
		require.Equal(t, variable, vars[name], "--%s", name)
	}
}

func TestRedisURLAlias(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"REDIS_URL", map[string]string{"REDIS_URL": "redis://old:1/0"}, "redis://old:1/0"},
		{"BITQUEUE_REDIS_URL", map[string]string{"BITQUEUE_REDIS_URL": "redis://new:1/0"}, "redis://new:1/0"},
		{"both: BITQUEUE_ wins", map[string]string{"REDIS_URL": "redis://old:1/0", "BITQUEUE_REDIS_URL": "redis://new:1/0"}, "redis://new:1/0"},
		{"passwords by either name", map[string]string{"BITQUEUE_REDIS_PASSWORD": "new", "REDIS_PASSWORD": "old"}, "redis://127.0.0.1:6379/0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := parse(nil, func(k string) string { return tt.env[k] }, io.Discard)
			require.NoError(t, err)
			require.Equal(t, tt.want, c.redisURL)
			if tt.env["BITQUEUE_REDIS_PASSWORD"] != "" {
				require.Equal(t, "new", c.redisOpts.Password)
			}
		})
	}
}

func TestVersionFlag(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--version"}, {"--queue", "q", "--version"}, {"probe", "--version"}} {
		var stdout, stderr bytes.Buffer
		code := cli.Run(context.Background(), "worker", run, args, func(string) string { return "" }, &stdout, &stderr)
		require.Equal(t, 0, code, "%v", args)
		require.Equal(t, cli.Version("worker")+"\n", stdout.String())
		require.Empty(t, stderr.String())
	}
}

func TestProbeAfterFlags(t *testing.T) {
	t.Parallel()
	// The flags before probe are probe's: a bad one is refused by name,
	// which shows probe parsed it.
	_, err := parse([]string{"--timeout", "0s"}, func(string) string { return "" }, io.Discard)
	require.EqualError(t, err, "unknown flag --timeout (see worker -h)", "--timeout is not a flag of the worker itself")
	err = run(context.Background(), []string{"--timeout", "0s", "probe"}, func(string) string { return "" }, io.Discard, io.Discard)
	require.EqualError(t, err, "--timeout 0s must be positive")
	err = run(context.Background(), []string{"probe"}, func(k string) string { return map[string]string{"BITQUEUE_PROBE_TIMEOUT": "0s"}[k] }, io.Discard, io.Discard)
	require.EqualError(t, err, "BITQUEUE_PROBE_TIMEOUT=0s must be positive")
	// The worker's own flags are not probe's, before it or after it.
	for _, args := range [][]string{{"--concurrency", "2", "probe"}, {"probe", "--concurrency", "2"}} {
		err = run(context.Background(), args, func(string) string { return "" }, io.Discard, io.Discard)
		require.EqualError(t, err, "unknown flag --concurrency (see worker probe -h)", "%v", args)
	}
	// A value spelled like the subcommand is a value: no --flag=value needed.
	c, err := parse([]string{"--queue", "probe"}, func(string) string { return "" }, io.Discard)
	require.NoError(t, err)
	require.Equal(t, []string{"probe"}, c.queues)
	require.Nil(t, c.probe)
}

// TestJSONLogsToTheLastLine runs the worker through cli.Run, as main does,
// with --log-format json: every line on stderr, the final error included,
// is a JSON object.
func TestJSONLogsToTheLastLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		env  map[string]string
		code int
		last string // the err of the final line
	}{
		{"runtime failure", []string{"--log-format", "json", "--redis", "redis://127.0.0.1:1/0", "--redis-wait", "300ms", "--cache-bits", "1", "--http-addr", "127.0.0.1:0"}, nil, 1, "127.0.0.1:1"},
		{"usage error from the environment", nil, map[string]string{"BITQUEUE_LOG_FORMAT": "json", "BITQUEUE_SHARDS": "0"}, 2, "BITQUEUE_SHARDS=0 out of range [1, 256]"},
		{"bad flag value", []string{"--log-format=json", "--concurrency", "many"}, nil, 2, "--concurrency many: want a whole number from 1 to 1000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			code := cli.Run(context.Background(), "worker", run, tt.args, func(k string) string { return tt.env[k] }, &stdout, &stderr)
			require.Equal(t, tt.code, code, stderr.String())
			lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
			var last map[string]any
			for _, line := range lines {
				last = nil
				require.NoError(t, json.Unmarshal([]byte(line), &last), "not JSON: %s", line)
			}
			require.Equal(t, "exit", last["msg"])
			require.Equal(t, "ERROR", last["level"])
			require.EqualValues(t, tt.code, last["code"])
			require.Contains(t, last["err"], tt.last)
		})
	}
}
