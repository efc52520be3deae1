package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/cli"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestHelp compares `worker -h` and `worker probe -h` with their golden
// files; go test -run TestHelp -update rewrites them.
func TestHelp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		args   []string
		golden string
		writes bool // under -update, this case writes the golden file
	}{
		{"worker", []string{"-h"}, "help.golden", true},
		{"worker --help", []string{"--help"}, "help.golden", false},
		{"probe", []string{"probe", "-h"}, "help-probe.golden", true},
		{"probe after -h", []string{"-h", "probe"}, "help-probe.golden", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			err := run(context.Background(), tt.args, func(string) string { return "" }, &out, &out)
			require.ErrorIs(t, err, cli.ErrHelp)
			path := filepath.Join("testdata", tt.golden)
			if *update && tt.writes {
				require.NoError(t, os.MkdirAll("testdata", 0o755))
				require.NoError(t, os.WriteFile(path, out.Bytes(), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test -run TestHelp -update to create it")
			require.Equal(t, string(want), out.String())
		})
	}
}
