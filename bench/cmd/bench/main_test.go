package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/cli"
)

func noenv(string) string { return "" }

func TestParseErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--workers", "0"},
		{"--batch-size", "100001"},
		{"--repeat", "0"},
		{"--sweep-batches", "10,x"},
		{"--chart", "x.svg"},
		{"--sweep", "--chart", "x.gif"},
		{"--timeout", "0s"},
		{"--peer-batches", "0"},
		{"--peer-batches", "1000,x"},
		{"--latency", "2"},
		{"--latency", "0ms"},
		{"--latency", "0.5ms,2s"},
		{"--latency-concurrency", "0,8"},
		{"--latency-count", "0"},
		{"--latency-repeat", "0"},
		{"--only", "latency", "--markdown", "BENCHMARKS.md"},
		{"--only", "latency", "--cluster"},
		{"--only", "latency", "--latency", "none"},
		{"extra"},
		{"--idle-workers", "-1"},
		{"--idle-window", "0s"},
		{"--only", "main"},
		{"--only", "idle", "--idle-workers", "0"},
		{"--only", "idle", "--markdown", "BENCHMARKS.md"},
	} {
		var out bytes.Buffer
		_, err := parse(args, noenv, &out)
		require.Error(t, err, "%q", args)
		require.Equal(t, cli.ExitUsage, cli.ExitCode(err), "%q: %v", args, err)
	}
}

func TestWorkerNeedsAHandler(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"worker", "--queue", "q", "--handler", "nope"}, noenv, &out, &errb)
	require.Equal(t, cli.ExitUsage, cli.ExitCode(err), "%v", err)
	err = run(context.Background(), []string{"worker", "--handler", "empty"}, noenv, &out, &errb)
	require.Equal(t, cli.ExitUsage, cli.ExitCode(err), "%v", err)
}

func TestDurationList(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in string
		want     []time.Duration
	}{
		{"default", "0.5ms,2ms", []time.Duration{500 * time.Microsecond, 2 * time.Millisecond}},
		{"spaces", " 1ms , 10ms ", []time.Duration{time.Millisecond, 10 * time.Millisecond}},
		{"empty disables", "", nil},
		{"none disables", "none", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := durationList("--latency", tc.in)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}
