package input_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"bitqueue/fixture"
	"bitqueue/internal/input"
)

// writeFile writes content to a new file in a temporary directory.
func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "nums.txt")
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

func TestFile(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "3 1 4\n1 5\n9\n")
	src := snapshot(t, path)
	require.Equal(t, path, src.Name())
	want := []uint64{3, 1, 4, 1, 5, 9}
	require.Equal(t, want, fixture.Integers(t, src))
	require.Equal(t, want, fixture.Integers(t, src), "a second pass reads the same integers")
}

func TestFileBadToken(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "1\n2 -3\n")
	_, err := input.SnapshotFile(path, t.TempDir())
	requireInputError(t, err, path, 2, "-3")
}

func TestFileOpenErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name   string
		path   string
		reason string
	}{
		{"nonexistent", filepath.Join(dir, "no-such-file.txt"), "cannot be read: no such file or directory"},
		{"nonexistent directory", filepath.Join(dir, "no", "such", "file"), "cannot be read"},
		{"directory", dir, "is a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := input.SnapshotFile(tt.path, t.TempDir())
			require.Nil(t, s)
			ie := requireInputError(t, err, tt.path, 0, "")
			require.Contains(t, ie.Reason, tt.reason)
			require.True(t, strings.HasPrefix(err.Error(), tt.path+": "), "the error %q names the path first", err)
			require.Equal(t, 1, strings.Count(err.Error(), tt.path), "the path is named once: %q", err)
		})
	}
}

func TestRandom(t *testing.T) {
	t.Parallel()
	const count, max = 10_000, 1000
	src := input.Random(7, count, max)
	require.Equal(t, "random", src.Name())
	first := fixture.Integers(t, src)
	require.Len(t, first, count)
	for _, n := range first {
		require.Less(t, n, uint64(max))
	}
	require.Equal(t, first, fixture.Integers(t, src), "a second pass gives the same integers")
	require.Equal(t, first, fixture.Integers(t, input.Random(7, count, max)), "the same seed gives the same integers")
	require.NotEqual(t, first, fixture.Integers(t, input.Random(8, count, max)), "another seed gives other integers")
	require.Equal(t, first[:10], fixture.Integers(t, input.Random(7, 10, max)), "count only cuts the sequence")

	distinct := map[uint64]bool{}
	for _, n := range first {
		distinct[n] = true
	}
	require.Greater(t, len(distinct), max*9/10, "10000 draws cover most of [0, 1000)")
}

func TestRandomGolden(t *testing.T) {
	t.Parallel()
	// Runs are reproducible on every machine: pin the sequence, so that a
	// change of generator (here or in math/rand/v2) cannot go unnoticed.
	require.Equal(t, []uint64{63, 36, 50, 14, 0}, fixture.Integers(t, input.Random(1, 5, 64)))
}

func TestRandomEdges(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		count, max   uint64
		wantLen      int
		wantAllBelow uint64
	}{
		{"count 0", 0, 10, 0, 10},
		{"max 1", 100, 1, 100, 1},
		{"max 2^63", 1000, 1 << 63, 1000, 1 << 63},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := input.Random(3, tt.count, tt.max).Open()
			require.NoError(t, err)
			got := fixture.Drain(t, s)
			require.Len(t, got, tt.wantLen)
			for _, n := range got {
				require.Less(t, n, tt.wantAllBelow)
			}
			requireEOF(t, s)
			require.NoError(t, s.Close())
		})
	}
}
