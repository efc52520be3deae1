package outfile_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/outfile"
)

// entries returns the names in dir.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestCommitReplacesWhole(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "out.tsv")
	require.NoError(t, os.WriteFile(path, []byte("old\n"), 0o640))
	f, err := outfile.Create(path)
	require.NoError(t, err)
	_, err = f.Write([]byte("new "))
	require.NoError(t, err)
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "old\n", string(got), "the old file stays until Commit")
	_, err = f.Write([]byte("output\n"))
	require.NoError(t, err)
	require.NoError(t, f.Commit())
	f.Abort() // after Commit: nothing
	got, err = os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "new output\n", string(got))
	st, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o640), st.Mode().Perm(), "the replaced file's mode is kept")
	require.Equal(t, []string{"out.tsv"}, entries(t, dir), "no temporary file is left")
}

func TestAbortLeavesThePathAlone(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f, err := outfile.Create(filepath.Join(dir, "new.tsv"))
	require.NoError(t, err)
	require.Len(t, entries(t, dir), 1, "the temporary file exists from Create on")
	_, err = f.Write([]byte("half"))
	require.NoError(t, err)
	f.Abort()
	f.Abort()
	require.Empty(t, entries(t, dir))
	require.Error(t, f.Commit(), "Commit after Abort")
	_, err = f.Write([]byte("x"))
	require.Error(t, err, "Write after Abort")
}

func TestCreateRefuses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ro := filepath.Join(dir, "ro")
	require.NoError(t, os.Mkdir(ro, 0o500))
	for _, tc := range []struct {
		name, path, want string
	}{
		{"missing directory", filepath.Join(dir, "no", "such", "x"), "cannot create a file in its directory " + filepath.Join(dir, "no", "such") + ": no such file or directory"},
		{"a directory", dir, "is a directory"},
		{"read-only directory", filepath.Join(ro, "x"), "permission denied"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.name == "read-only directory" && os.Geteuid() == 0 {
				t.Skip("root writes to read-only directories")
			}
			f, err := outfile.Create(tc.path)
			require.Nil(t, f)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// Same recognises the file the output would replace through any name.
func TestSame(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	in := filepath.Join(dir, "in.txt")
	require.NoError(t, os.WriteFile(in, []byte("1\n"), 0o600))
	require.NoError(t, os.Symlink(in, filepath.Join(dir, "link")))
	require.NoError(t, os.Link(in, filepath.Join(dir, "hard")))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "other"), []byte("1\n"), 0o600))
	st, err := os.Stat(in)
	require.NoError(t, err)
	for name, same := range map[string]bool{"in.txt": true, "link": true, "hard": true, "./in.txt": true, "other": false, "absent": false} {
		f, err := outfile.Create(filepath.Join(dir, name))
		require.NoError(t, err, name)
		require.Equal(t, same, f.Same(st), name)
		require.False(t, f.Same(nil), name)
		f.Abort()
	}
}

// A symbolic link is followed: the file it names is replaced, the link kept.
func TestCommitThroughSymlink(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	target := filepath.Join(dir, "target.tsv")
	require.NoError(t, os.WriteFile(target, []byte("old"), 0o600))
	link := filepath.Join(dir, "link.tsv")
	require.NoError(t, os.Symlink(target, link))
	f, err := outfile.Create(link)
	require.NoError(t, err)
	_, err = f.Write([]byte("new"))
	require.NoError(t, err)
	require.NoError(t, f.Commit())
	got, err := os.ReadFile(target)
	require.NoError(t, err)
	require.Equal(t, "new", string(got))
	lst, err := os.Lstat(link)
	require.NoError(t, err)
	require.Equal(t, os.ModeSymlink, lst.Mode().Type(), "the link is still a link")
}
