package outfile_test

import (
	"context"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/fixture"
	"bitqueue/internal/outfile"
)

// write writes rows to f and commits it.
func write(t *testing.T, f *outfile.File, rows string) {
	t.Helper()
	_, err := f.Write([]byte(rows))
	require.NoError(t, err)
	require.NoError(t, f.Commit())
}

// createOnPipe creates an output on the write end of a pipe, named through
// /proc/self/fd, and returns it, a function that closes the write end (as
// the test's end does too), and what the read end got once closed.
func createOnPipe(t *testing.T) (f *outfile.File, closeWriter func(), got func() string) {
	t.Helper()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	t.Cleanup(func() { w.Close() })
	got = fixture.ReadInBackground(t, func() (io.ReadCloser, error) { return r, nil })
	f, err = outfile.Create("/proc/self/fd/" + strconv.Itoa(int(w.Fd())))
	require.NoError(t, err)
	return f, func() { require.NoError(t, w.Close()) }, got
}

// needRoot skips t, saying why, unless the process may make device nodes.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("making a device node with mknod needs root")
	}
}

// A FIFO, a character device and an open descriptor are written in place:
// no temporary file, no rename, the file stays what it was.
func TestInPlace(t *testing.T) {
	t.Parallel()
	const rows = "1\t1\n2\t10\n"
	t.Run("a FIFO with its reader waiting", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		path := filepath.Join(dir, "ff")
		require.NoError(t, syscall.Mkfifo(path, 0o644))
		got := fixture.ReadInBackground(t, func() (io.ReadCloser, error) { return os.Open(path) }) // open(2) waits for a writer
		var f *outfile.File
		for deadline := time.Now().Add(time.Minute); ; {
			var err error
			f, err = outfile.Create(path)
			require.NoError(t, err)
			if !f.AwaitsReader() {
				break // Create opened the FIFO: the reader was waiting
			}
			f.Abort()
			require.True(t, time.Now().Before(deadline), "the reader never opened the FIFO")
			time.Sleep(10 * time.Millisecond)
		}
		require.True(t, f.InPlace())
		write(t, f, rows)
		require.Equal(t, rows, got())
		fixture.RequireFileType(t, path, fs.ModeNamedPipe)
		require.Equal(t, []string{"ff"}, fixture.DirNames(t, dir))
	})
	t.Run("a character device", func(t *testing.T) {
		t.Parallel()
		needRoot(t)
		dir := t.TempDir()
		path := filepath.Join(dir, "mynull")
		require.NoError(t, syscall.Mknod(path, syscall.S_IFCHR|0o666, 1<<8|3)) // c 1 3: a null device
		f, err := outfile.Create(path)
		require.NoError(t, err)
		require.True(t, f.InPlace())
		write(t, f, rows)
		fixture.RequireFileType(t, path, fs.ModeDevice|fs.ModeCharDevice)
		require.Equal(t, []string{"mynull"}, fixture.DirNames(t, dir))
	})
	t.Run("a pipe through /proc/self/fd", func(t *testing.T) {
		t.Parallel()
		f, closeWriter, got := createOnPipe(t)
		require.True(t, f.InPlace())
		write(t, f, rows)
		closeWriter()
		require.Equal(t, rows, got())
	})
	t.Run("a regular file through /dev/fd, appended to", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "log.txt")
		require.NoError(t, os.WriteFile(path, []byte("earlier output\n"), 0o600))
		fd, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		require.NoError(t, err)
		defer fd.Close()
		link := "/dev/fd/" + strconv.Itoa(int(fd.Fd()))
		f, err := outfile.Create(link)
		require.NoError(t, err)
		require.True(t, f.InPlace())
		st, err := os.Stat(path)
		require.NoError(t, err)
		require.True(t, f.Same(st), "the descriptor's file is recognised")
		write(t, f, rows)
		got, err := os.ReadFile(path)
		require.NoError(t, err)
		require.Equal(t, "earlier output\n"+rows, string(got))
		require.Equal(t, os.FileMode(0o600), modeOf(t, path))
	})
}

// A FIFO with no reader yet is opened by Open, which waits for a reader
// until its context is done: Create never waits.
func TestOpenWaitsForAReader(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "ff")
	require.NoError(t, syscall.Mkfifo(path, 0o600))
	f, err := outfile.Create(path)
	require.NoError(t, err)
	defer f.Abort()
	require.True(t, f.AwaitsReader())

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorContains(t, f.Open(ctx), "no process opened the FIFO for reading: context canceled")

	got := fixture.ReadInBackground(t, func() (io.ReadCloser, error) { return os.Open(path) })
	require.NoError(t, f.Open(context.Background()))
	require.False(t, f.AwaitsReader())
	write(t, f, "rows\n")
	require.Equal(t, "rows\n", got())
	fixture.RequireFileType(t, path, fs.ModeNamedPipe)
}

// An output written in place and aborted keeps what was written (it cannot
// be taken back) and stays what it was.
func TestAbortInPlace(t *testing.T) {
	t.Parallel()
	f, closeWriter, got := createOnPipe(t)
	_, err := f.Write([]byte("half"))
	require.NoError(t, err)
	f.Abort()
	f.Abort()
	require.Error(t, f.Commit(), "Commit after Abort")
	require.Error(t, f.Open(context.Background()), "Open after Abort")
	closeWriter()
	require.Equal(t, "half", got())
}

// Files that cannot be written to, or only by destroying them, are refused
// by Create, before any work.
func TestCreateRefusesSpecialFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sock := filepath.Join(dir, "sock")
	l, err := net.Listen("unix", sock)
	require.NoError(t, err)
	defer l.Close()
	require.NoError(t, os.Symlink("sock", filepath.Join(dir, "to-sock")))
	for _, tc := range []struct {
		name, path, want string
		root             bool
	}{
		{"a socket", sock, "is a socket, which cannot be opened for writing", false},
		{"a link to a socket", filepath.Join(dir, "to-sock"), "is a socket, which cannot be opened for writing", false},
		{"a block device", filepath.Join(dir, "blk"), "is a block device: only files, FIFOs and character devices are written to", true},
		{"a directory through /proc", "/proc/self/cwd", "is a directory", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.root {
				needRoot(t)
				require.NoError(t, syscall.Mknod(tc.path, syscall.S_IFBLK|0o600, 7<<8)) // b 7 0 (major 7, minor 0): a loop device, never opened
			}
			before, err := os.Lstat(tc.path)
			require.NoError(t, err)
			f, err := outfile.Create(tc.path)
			require.Nil(t, f)
			require.EqualError(t, err, tc.want)
			after, err := os.Lstat(tc.path)
			require.NoError(t, err)
			require.Equal(t, before.Mode(), after.Mode())
		})
	}
	for _, name := range fixture.DirNames(t, dir) {
		require.NotContains(t, name, ".tmp-")
	}
}
