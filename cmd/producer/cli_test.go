package main

import (
	"context"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/cli"
	"bitqueue/redistest"
)

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
		{"REDIS_URL", map[string]string{"REDIS_URL": "redis://old:1/0"}, func(t *testing.T, c config) { require.Equal(t, "redis://old:1/0", c.redisURL) }},
		{"BITQUEUE_REDIS_URL wins", map[string]string{"REDIS_URL": "redis://old:1/0", "BITQUEUE_REDIS_URL": "redis://new:1/0"}, func(t *testing.T, c config) { require.Equal(t, "redis://new:1/0", c.redisURL) }},
		{"concurrency", map[string]string{"BITQUEUE_PRODUCER_CONCURRENCY": "32"}, func(t *testing.T, c config) { require.Equal(t, 32, c.concurrency) }},
		{"the workers' concurrency is not the producer's", map[string]string{"BITQUEUE_CONCURRENCY": "500"}, func(t *testing.T, c config) { require.Equal(t, 8, c.concurrency) }},
		{"batch size", map[string]string{"BITQUEUE_BATCH_SIZE": "10"}, func(t *testing.T, c config) { require.Equal(t, 10, c.batchSize) }},
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := parse(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			require.EqualError(t, err, tt.want)
			require.Equal(t, cli.ExitUsage, cli.ExitCode(err))
		})
	}
}
