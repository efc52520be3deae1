package outfile_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"bitqueue/fixture"
	"bitqueue/internal/outfile"
)

// Create removes the temporary files of the same path that no process holds
// locked (left by a killed producer), and nothing else: not the temporary
// file of an output still being written, not the files of other paths or of
// another naming.
func TestCreateRemovesStaleTemporaryFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "out.tsv")
	require.NoError(t, os.WriteFile(path, []byte("old\n"), 0o644))

	live, err := outfile.Create(path) // a producer still running
	require.NoError(t, err)
	defer live.Abort()
	liveTemp := fixture.DirNames(t, dir)
	require.Len(t, liveTemp, 2)

	stale := []string{".out.tsv.tmp-0123456789ab", ".out.tsv.tmp-ffffffffffff"}
	kept := []string{
		".out.tsv.tmp-0123456789a",    // too short
		".out.tsv.tmp-0123456789abc",  // too long
		".out.tsv.tmp-0123456789AB",   // not ours: upper case
		".out.tsv.tmp-012345678",      // os.CreateTemp's naming
		".other.tsv.tmp-0123456789ab", // another file's
		"out.tsv.tmp-0123456789ab",    // no dot
		".out.tsv.tmp-0123456789ab~",
	}
	for _, name := range append(slices.Clone(stale), kept...) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte("half"), 0o600))
	}
	// Named like a stale temporary file, but not a regular file.
	require.NoError(t, os.Mkdir(filepath.Join(dir, ".out.tsv.tmp-aaaaaaaaaaaa"), 0o755))
	require.NoError(t, os.Symlink("out.tsv", filepath.Join(dir, ".out.tsv.tmp-bbbbbbbbbbbb")))
	kept = append(kept, ".out.tsv.tmp-aaaaaaaaaaaa", ".out.tsv.tmp-bbbbbbbbbbbb")

	f, err := outfile.Create(path)
	require.NoError(t, err)
	var removed []string
	for _, name := range stale {
		removed = append(removed, filepath.Join(dir, name))
	}
	require.ElementsMatch(t, removed, f.Removed())
	write(t, f, "new\n")

	want := append(slices.Clone(kept), liveTemp...)
	require.ElementsMatch(t, want, fixture.DirNames(t, dir), "the stale temporary files alone are gone")

	write(t, live, "later\n") // the running producer's output is whole
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "later\n", string(got))
}
