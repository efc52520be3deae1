package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/cli"
)

// inspectCommands are the producer's subcommands that read runs.
var inspectCommands = []string{"status", "requeue", "results", "list", "delete"}

// TestInspectEnvironment checks that every flag of the inspect subcommands
// takes its value from the variable -h names, the producer's own where the
// meaning is the same.
func TestInspectEnvironment(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		cmds  []string
		env   map[string]string
		check func(t *testing.T, c inspectConfig)
	}{
		{"BITQUEUE_REDIS_URL", inspectCommands, map[string]string{"BITQUEUE_REDIS_URL": "redis://new:1/0"}, func(t *testing.T, c inspectConfig) { require.Equal(t, "redis://new:1/0", c.Redis.URL) }},
		{"REDIS_URL, its alias", inspectCommands, map[string]string{"REDIS_URL": "redis://old:1/0"}, func(t *testing.T, c inspectConfig) { require.Equal(t, "redis://old:1/0", c.Redis.URL) }},
		{"BITQUEUE_REDIS_URL wins", inspectCommands, map[string]string{"REDIS_URL": "redis://old:1/0", "BITQUEUE_REDIS_URL": "redis://new:1/0"}, func(t *testing.T, c inspectConfig) { require.Equal(t, "redis://new:1/0", c.Redis.URL) }},
		{"prefix", inspectCommands, map[string]string{"BITQUEUE_PREFIX": "staging"}, func(t *testing.T, c inspectConfig) { require.Equal(t, "staging", c.Prefix.Prefix) }},
		{"redis wait", inspectCommands, map[string]string{"BITQUEUE_REDIS_WAIT": "3s"}, func(t *testing.T, c inspectConfig) { require.Equal(t, 3*time.Second, c.RedisWait.Wait) }},
		{"TLS", inspectCommands, map[string]string{"BITQUEUE_REDIS_CA": "ca.pem", "BITQUEUE_REDIS_TLS_SERVER_NAME": "redis.internal"}, func(t *testing.T, c inspectConfig) {
			require.Equal(t, "ca.pem", c.redisOpts.CAFile)
			require.Equal(t, "redis.internal", c.redisOpts.ServerName)
		}},
		{"password", inspectCommands, map[string]string{"BITQUEUE_REDIS_PASSWORD": "pw"}, func(t *testing.T, c inspectConfig) { require.Equal(t, "pw", c.redisOpts.Password) }},
		{"json", []string{"status", "requeue", "list", "delete"}, map[string]string{"BITQUEUE_JSON": "true"}, func(t *testing.T, c inspectConfig) {
			require.True(t, c.sub.Status.JSON || c.sub.Requeue.JSON || c.sub.List.JSON || c.sub.Delete.JSON)
		}},
		{"logging", inspectCommands, map[string]string{"BITQUEUE_LOG_FORMAT": "json", "BITQUEUE_LOG_LEVEL": "debug"}, func(t *testing.T, c inspectConfig) {
			require.Equal(t, "json", c.Log.Format)
			require.Equal(t, "debug", c.Log.Level)
		}},
		{"run id", []string{"status", "requeue", "results", "delete"}, map[string]string{"BITQUEUE_RUN_ID": "from-env"}, func(t *testing.T, c inspectConfig) { require.Equal(t, "from-env", c.RunID) }},
		{"queue: its own variable", []string{"status", "requeue", "results", "delete"}, map[string]string{"BITQUEUE_RUN_QUEUE": "other"}, func(t *testing.T, c inspectConfig) { require.Equal(t, "other", c.Queue) }},
		{"the producer's queue is not the record's", []string{"status", "requeue", "results", "delete"}, map[string]string{"BITQUEUE_QUEUE": "other"}, func(t *testing.T, c inspectConfig) { require.Empty(t, c.Queue) }},
		{"out", []string{"results"}, map[string]string{"BITQUEUE_OUT": "bits.tsv"}, func(t *testing.T, c inspectConfig) { require.Equal(t, "bits.tsv", c.sub.Results.Out) }},
		{"record ttl", []string{"delete"}, map[string]string{"BITQUEUE_RECORD_TTL": "168h"}, func(t *testing.T, c inspectConfig) { require.Equal(t, 168*time.Hour, c.sub.Delete.RecordTTL) }},
	}
	for _, tt := range tests {
		for _, cmd := range tt.cmds {
			t.Run(cmd+" "+tt.name, func(t *testing.T) {
				t.Parallel()
				env := map[string]string{"BITQUEUE_RUN_ID": "r"}
				for k, v := range tt.env {
					env[k] = v
				}
				c, err := parseInspect(cmd, nil, func(k string) string { return env[k] }, io.Discard)
				require.NoError(t, err)
				tt.check(t, c)
			})
		}
	}
}

// TestInspectValueErrors checks that the inspect subcommands name a refused
// value as the user gave it.
func TestInspectValueErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cmd  string
		args []string
		env  map[string]string
		want string
	}{
		{"status", nil, nil, "--run-id is required"},
		{"status", []string{"--run-id", "a:b"}, nil, "--run-id a:b: character ':' at 1 is not one of [A-Za-z0-9._-]"},
		{"requeue", nil, map[string]string{"BITQUEUE_RUN_ID": "a b"}, `BITQUEUE_RUN_ID="a b": character ' ' at 1`},
		{"status", []string{"--run-id", "r"}, map[string]string{"BITQUEUE_REDIS_WAIT": "0s"}, "BITQUEUE_REDIS_WAIT=0s must be positive"},
		{"status", []string{"--run-id", "r", "--redis-wait", "-1s"}, nil, `--redis-wait "-1s" must be positive`},
		{"list", nil, map[string]string{"BITQUEUE_PREFIX": "a b"}, `BITQUEUE_PREFIX="a b" must be non-empty without spaces`},
		{"status", []string{"--run-id", "r"}, map[string]string{"BITQUEUE_RUN_QUEUE": "a b"}, `BITQUEUE_RUN_QUEUE="a b" must not hold spaces`},
		{"results", []string{"--run-id", "r", "--out", ""}, nil, `--out "" must name a file, or - for stdout`},
		{"delete", []string{"--run-id", "r"}, map[string]string{"BITQUEUE_RECORD_TTL": "1ms"}, "BITQUEUE_RECORD_TTL=1ms must be at least 1s"},
		{"delete", []string{"--run-id", "r", "--record-ttl", "lots"}, nil, "--record-ttl lots: want a duration"},
		{"list", nil, map[string]string{"BITQUEUE_LOG_FORMAT": "xml"}, "BITQUEUE_LOG_FORMAT=xml: want text or json"},
		{"list", []string{"--log-level", "loud"}, nil, "--log-level loud: want debug, info, warn or error"},
		{"list", []string{"--frobnicate"}, nil, "unknown flag --frobnicate (see producer list -h)"},
		{"list", []string{"extra"}, nil, `unexpected argument "extra"`},
		{"list", []string{"--queue", "q"}, nil, "unknown flag --queue (see producer list -h)"},
		{"list", []string{"--run-id", "r"}, nil, "unknown flag --run-id (see producer list -h)"},
		{"results", []string{"--run-id", "r", "--json"}, nil, "unknown flag --json (see producer results -h)"},
		{"status", []string{"--run-id", "r", "--count", "5"}, nil, "unknown flag --count (see producer status -h)"},
		{"requeue", []string{"--run-id", "r", "--max-retry", "101"}, nil, "--max-retry 101 out of range [0, 100]"},
		{"requeue", []string{"--run-id", "r"}, map[string]string{"BITQUEUE_TASK_TIMEOUT": "0s"}, "BITQUEUE_TASK_TIMEOUT=0s out of range [1s, 24h]"},
	}
	for _, tt := range tests {
		t.Run(tt.cmd+" "+strings.Join(tt.args, " ")+" "+tt.want, func(t *testing.T) {
			t.Parallel()
			_, err := parseInspect(tt.cmd, tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			require.ErrorContains(t, err, tt.want)
			require.Equal(t, cli.ExitUsage, cli.ExitCode(err))
		})
	}
}

// TestInspectHelp checks each inspect subcommand's -h: on stdout, exit 0,
// flags grouped, every flag with its variable, examples last; and that
// --version works after the subcommand as before it.
func TestInspectHelp(t *testing.T) {
	t.Parallel()
	for _, cmd := range inspectCommands {
		t.Run(cmd, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), []string{cmd, "-h"}, func(string) string { return "" }, &stdout, &stderr)
			require.True(t, errors.Is(err, cli.ErrHelp), "%v", err)
			require.Equal(t, cli.ExitOK, cli.ExitCode(err))
			help := stdout.String()
			require.True(t, strings.HasPrefix(help, "Usage: producer "+cmd), help)
			for _, part := range []string{"\nRun:\n", "\nRedis:\n", "\nLogging:\n", "\nExamples:\n  producer "} {
				require.Contains(t, help, part)
			}
			docs, err := cli.Flags(command, &flags{}, cmd)
			require.NoError(t, err)
			require.GreaterOrEqual(t, len(docs), 8, "the flags of %s", cmd)
			for _, d := range docs {
				require.Contains(t, help, "  --"+d.Name, "-h shows --%s", d.Name)
				require.NotEmpty(t, d.Variables, "--%s has a variable", d.Name)
				require.Contains(t, help, "[$"+d.Variables[0], "-h names --%s's variable", d.Name)
			}
			for _, args := range [][]string{{cmd, "--version"}, {"--version", cmd}} {
				err := run(context.Background(), args, func(string) string { return "" }, io.Discard, io.Discard)
				require.ErrorIs(t, err, cli.ErrVersion, "%v", args)
			}
		})
	}
}
