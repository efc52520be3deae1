package outfile_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"bitqueue/fixture"
	"bitqueue/internal/outfile"
)

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
	require.Equal(t, []string{"out.tsv"}, fixture.DirNames(t, dir), "no temporary file is left")
}

func TestAbortLeavesThePathAlone(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f, err := outfile.Create(filepath.Join(dir, "new.tsv"))
	require.NoError(t, err)
	require.Len(t, fixture.DirNames(t, dir), 1, "the temporary file exists from Create on")
	_, err = f.Write([]byte("half"))
	require.NoError(t, err)
	f.Abort()
	f.Abort()
	require.Empty(t, fixture.DirNames(t, dir))
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

// modeOf returns the permission bits of the file at path.
func modeOf(t *testing.T, path string) os.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	require.NoError(t, err)
	return st.Mode().Perm()
}

// newFileMode returns the mode a file created with 0666 gets in dir under
// the process's umask.
func newFileMode(t *testing.T, dir string) os.FileMode {
	t.Helper()
	path := filepath.Join(dir, "umask-reference")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	defer os.Remove(path)
	return modeOf(t, path)
}

// A dangling symbolic link is created through, as cp and a shell
// redirection do: the file it names is created, with 0666 less the umask,
// and the link kept.
func TestCommitThroughDanglingSymlink(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		links  [][2]string // link name and its target; the output is "dang"
		target string      // the file the output lands in
	}{
		{"relative", [][2]string{{"dang", "nothere.tsv"}}, "nothere.tsv"},
		{"through a directory", [][2]string{{"dang", "sub/../sub/there.tsv"}}, "sub/there.tsv"},
		{"through a linked directory", [][2]string{{"dir", "sub/deeper"}, {"dang", "dir/../there.tsv"}}, "sub/there.tsv"}, // .. of the link's target
		{"a chain", [][2]string{{"dang", "second"}, {"second", "sub/there.tsv"}}, "sub/there.tsv"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			require.NoError(t, os.MkdirAll(filepath.Join(dir, "sub", "deeper"), 0o755))
			want := newFileMode(t, dir)
			for _, l := range tc.links {
				require.NoError(t, os.Symlink(l[1], filepath.Join(dir, l[0])))
			}
			link := filepath.Join(dir, "dang")
			f, err := outfile.Create(link)
			require.NoError(t, err)
			require.False(t, f.InPlace())
			_, err = f.Write([]byte("rows\n"))
			require.NoError(t, err)
			require.NoError(t, f.Commit())
			target := filepath.Join(dir, tc.target)
			got, err := os.ReadFile(target)
			require.NoError(t, err)
			require.Equal(t, "rows\n", string(got))
			require.Equal(t, want, modeOf(t, target), "a new file gets 0666 less the umask")
			dest, err := os.Readlink(link)
			require.NoError(t, err, "the link is still a link")
			for _, l := range tc.links {
				if l[0] == "dang" {
					require.Equal(t, l[1], dest)
				}
			}
			for _, d := range []string{dir, filepath.Join(dir, "sub")} {
				for _, name := range fixture.DirNames(t, d) {
					require.NotContains(t, name, ".tmp-", "no temporary file is left in %s", d)
				}
			}
		})
	}
}

// A symbolic link loop is refused, naming the loop.
func TestCreateRefusesLinkLoop(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.Symlink("b", filepath.Join(dir, "a")))
	require.NoError(t, os.Symlink("a", filepath.Join(dir, "b")))
	f, err := outfile.Create(filepath.Join(dir, "a"))
	require.Nil(t, f)
	require.EqualError(t, err, "too many levels of symbolic links")
	require.Equal(t, []string{"a", "b"}, fixture.DirNames(t, dir))
}

// What Create checks may change during a run: Commit renames only over a
// regular file or nothing, and leaves anything else as it is.
func TestCommitNeverRenamesOverNonRegular(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		make func(path string) error
		want string
	}{
		{"a FIFO", func(p string) error { return syscall.Mkfifo(p, 0o644) }, "became a FIFO"},
		{"a symbolic link", func(p string) error { return os.Symlink("elsewhere", p) }, "became a symbolic link"},
		{"a directory", func(p string) error { return os.Mkdir(p, 0o755) }, "became a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, "out.tsv")
			f, err := outfile.Create(path)
			require.NoError(t, err)
			_, err = f.Write([]byte("rows\n"))
			require.NoError(t, err)
			require.NoError(t, tc.make(path))
			before, err := os.Lstat(path)
			require.NoError(t, err)
			err = f.Commit()
			require.ErrorContains(t, err, "write "+path+": not replaced: it "+tc.want+" during the run")
			after, err := os.Lstat(path)
			require.NoError(t, err)
			require.Equal(t, before.Mode(), after.Mode(), "left as it was")
			require.Equal(t, []string{"out.tsv"}, fixture.DirNames(t, dir), "no temporary file is left")
		})
	}
}
