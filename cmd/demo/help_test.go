package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/cli"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestHelp compares `demo -h` with testdata/help.golden; go test -run
// TestHelp -update rewrites it.
func TestHelp(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	err := run(context.Background(), []string{"-h"}, func(string) string { return "" }, &out, &out)
	require.ErrorIs(t, err, cli.ErrHelp)
	path := filepath.Join("testdata", "help.golden")
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, out.Bytes(), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -run TestHelp -update to create it")
	require.Equal(t, string(want), out.String())
}

func TestParseNamesTheValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"count by flag", []string{"--count", "0"}, nil, "--count 0 out of range [1, 100000000]"},
		{"count negative", []string{"--count", "-5"}, nil, `--count "-5": want a whole number from 1 to 100000000`},
		{"workers by variable", nil, map[string]string{"BITQUEUE_DEMO_WORKERS": "100"}, "BITQUEUE_DEMO_WORKERS=100 out of range [1, 64]"},
		{"batch size", []string{"--batch-size=0"}, nil, "--batch-size 0 out of range [1, 100000]"},
		{"max", []string{"--max", "0"}, nil, "--max 0 out of range [1, 2^63]"},
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

func TestVersionFlag(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	code := cli.Run(context.Background(), "demo", run, []string{"--version"}, func(string) string { return "" }, &stdout, &stderr)
	require.Equal(t, 0, code)
	require.Equal(t, cli.Version("demo")+"\n", stdout.String())
	require.Empty(t, stderr.String())
}
