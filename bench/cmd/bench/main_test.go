package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
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

// TestParseDecimal checks that the benchmark reads its integer flags and
// lists as decimal, as every command does: 010 is ten, 0x10 is refused.
func TestParseDecimal(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, name := range []string{"worker", "producer"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), nil, 0o755))
	}
	var out bytes.Buffer
	c, err := parse([]string{"--bin", dir, "--workers", "010", "--count", "0100", "--sweep-batches", "010,0100", "--latency-concurrency", "08"}, noenv, &out)
	require.NoError(t, err)
	require.Equal(t, 10, c.opts.Workers)
	require.Equal(t, uint64(100), c.opts.Count)
	require.Equal(t, []int{10, 100}, c.opts.SweepBatches)
	require.Equal(t, []int{8}, c.opts.LatencyConcurrency)
	for _, args := range [][]string{
		{"--workers", "0x10"},
		{"--count", "0b11"},
		{"--repeat", "+5"},
		{"--max", "1_000"},
		{"--sweep-batches", "0x10"},
		{"--sweep-workers", "+2"},
		{"--peer-batches", "1_000"},
	} {
		_, err := parse(append([]string{"--bin", dir}, args...), noenv, &out)
		require.Error(t, err, "%q", args)
		require.Equal(t, cli.ExitUsage, cli.ExitCode(err), "%q: %v", args, err)
		require.Contains(t, err.Error(), args[0], "names the flag")
	}
}
