package main

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMakeBuildPutsTheBenchmarkBesideTheCommands runs the repository's
// `make build` into a directory of its own and checks that the benchmark,
// built in its own module, lands beside the commands it starts (--bin's
// default) and runs.
func TestMakeBuildPutsTheBenchmarkBesideTheCommands(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed: this test runs the repository's make build (apt-get install make)")
	}
	dir := t.TempDir()
	build := exec.Command("make", "--no-print-directory", "build", "BIN="+dir)
	build.Dir = filepath.Join("..", "..", "..")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "make build: %s", out)
	for _, name := range []string{"producer", "worker", "exporter", "demo", "bench"} {
		require.FileExists(t, filepath.Join(dir, name))
	}
	out, err = exec.Command(filepath.Join(dir, "bench"), "-h").CombinedOutput()
	require.NoError(t, err, "bench -h: %s", out)
	require.Contains(t, string(out), "bench [flags]")
}
