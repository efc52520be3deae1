package input_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"

	"bitqueue/fixture"
	"bitqueue/internal/input"
)

// snapshot takes a snapshot of the file at path in a directory of its own,
// closed when the test ends.
func snapshot(t *testing.T, path string) *input.Snapshot {
	t.Helper()
	s, err := input.SnapshotFile(path, t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func TestSnapshotFile(t *testing.T) {
	t.Parallel()
	const content = "3 1 4\n1 5\n9\n"
	path := writeFile(t, content)
	s := snapshot(t, path)
	require.Equal(t, path, s.Name())
	require.Equal(t, uint64(6), s.Len())
	id, err := s.Identity()
	require.NoError(t, err)
	require.Equal(t, sha(content), id)
	st, err := os.Stat(path)
	require.NoError(t, err)
	require.True(t, os.SameFile(st, s.Original()), "Original describes the file read")

	want := []uint64{3, 1, 4, 1, 5, 9}
	require.Equal(t, want, fixture.Integers(t, s))
	require.Equal(t, want, fixture.Integers(t, s), "a second pass reads the same integers")
	n, err := input.Count(s)
	require.NoError(t, err)
	require.Equal(t, uint64(6), n)
}

// Whatever happens to the file once the snapshot is taken, every pass reads
// the bytes it held then, and the identity is theirs.
func TestSnapshotIgnoresLaterChanges(t *testing.T) {
	t.Parallel()
	const content = "10 20 30\n40 50\n"
	want := []uint64{10, 20, 30, 40, 50}
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, path string)
	}{
		{"rewritten in place", func(t *testing.T, path string) {
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			require.NoError(t, err)
			_, err = f.WriteAt([]byte("99 99 99"), 0)
			require.NoError(t, err)
			require.NoError(t, f.Close())
		}},
		{"appended to", func(t *testing.T, path string) {
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			require.NoError(t, err)
			_, err = f.WriteString("60 70 80\n")
			require.NoError(t, err)
			require.NoError(t, f.Close())
		}},
		{"truncated", func(t *testing.T, path string) { require.NoError(t, os.Truncate(path, 4)) }},
		{"emptied", func(t *testing.T, path string) { require.NoError(t, os.Truncate(path, 0)) }},
		{"replaced by rename", func(t *testing.T, path string) {
			tmp := path + ".new"
			require.NoError(t, os.WriteFile(tmp, []byte("1\n2\n"), 0o600))
			require.NoError(t, os.Rename(tmp, path))
		}},
		{"replaced by bad input", func(t *testing.T, path string) {
			require.NoError(t, os.WriteFile(path, []byte("1 two 3\n"), 0o600))
		}},
		{"deleted", func(t *testing.T, path string) { require.NoError(t, os.Remove(path)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := writeFile(t, content)
			s := snapshot(t, path)
			first := fixture.Integers(t, s)
			tc.change(t, path)
			require.Equal(t, want, first)
			require.Equal(t, want, fixture.Integers(t, s), "a pass after the change")
			n, err := input.Count(s)
			require.NoError(t, err)
			require.Equal(t, uint64(len(want)), n)
			id, err := s.Identity()
			require.NoError(t, err)
			require.Equal(t, sha(content), id)
		})
	}
}

// A pass started before the change reads on unaffected.
func TestSnapshotPassSpanningAChange(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "1 2 3 4\n")
	s := snapshot(t, path)
	st, err := s.Open()
	require.NoError(t, err)
	defer st.Close()
	require.Equal(t, uint64(1), mustNext(t, st))
	require.NoError(t, os.Truncate(path, 0))
	require.Equal(t, []uint64{2, 3, 4}, []uint64{mustNext(t, st), mustNext(t, st), mustNext(t, st)})
	requireEOF(t, st)
}

func TestSnapshotLeavesNoFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := input.SnapshotFile(writeFile(t, "1 2 3\n"), dir)
	require.NoError(t, err)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries, "the spool is unlinked at once: a killed process leaves nothing behind")
	require.Equal(t, []uint64{1, 2, 3}, fixture.Integers(t, s))
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "Close twice")
	_, err = s.Open()
	require.Error(t, err, "Open after Close")
}

func TestSnapshotRejects(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct {
		name    string
		path    string
		content string
		line    int
		token   string
		reason  string
	}{
		{"bad token", "", "1\n2 -3\n4\n", 2, "-3", "has a minus sign"},
		{"empty", "", "", 0, "", "holds no integers"},
		{"blank", "", " \n\t\n", 0, "", "holds no integers"},
		{"missing", filepath.Join(dir, "no-such-file"), "", 0, "", "cannot be read: no such file or directory"},
		{"directory", dir, "", 0, "", "is a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := tc.path
			if path == "" {
				path = writeFile(t, tc.content)
			}
			spool := t.TempDir()
			s, err := input.SnapshotFile(path, spool)
			require.Nil(t, s)
			ie := requireInputError(t, err, path, tc.line, tc.token)
			require.Contains(t, ie.Reason, tc.reason)
			entries, err := os.ReadDir(spool)
			require.NoError(t, err)
			require.Empty(t, entries, "a refused input leaves no spool behind")
		})
	}
}

func TestSnapshotReader(t *testing.T) {
	t.Parallel()
	var sb strings.Builder
	var want []uint64
	for i := range uint64(100_000) {
		want = append(want, i*i)
		sb.WriteString(strings.Repeat(" ", int(i%3)))
		sb.WriteString(strconv.FormatUint(i*i, 10))
		sb.WriteByte('\n')
	}
	s, err := input.SnapshotReader(iotest.HalfReader(strings.NewReader(sb.String())), t.TempDir(), "stdin")
	require.NoError(t, err)
	defer s.Close()
	require.Equal(t, "stdin", s.Name())
	require.Nil(t, s.Original(), "a reader that is not a file has no original")
	require.Equal(t, uint64(len(want)), s.Len())
	id, _ := s.Identity()
	require.Equal(t, sha(sb.String()), id, "the identity of stdin is the hash of its bytes, as for a file")
	require.Equal(t, want, fixture.Integers(t, s))
}

// Standard input redirected from a file describes that file, so that an
// output naming it can be refused.
func TestSnapshotReaderOfAFile(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "7 8\n")
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	s, err := input.SnapshotReader(f, t.TempDir(), "stdin")
	require.NoError(t, err)
	defer s.Close()
	st, err := os.Stat(path)
	require.NoError(t, err)
	require.True(t, os.SameFile(st, s.Original()))
}

func TestSnapshotReaderErrors(t *testing.T) {
	t.Parallel()
	t.Run("read error", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		boom := errors.New("pipe broke")
		s, err := input.SnapshotReader(io.MultiReader(strings.NewReader("1 2 3"), iotest.ErrReader(boom)), dir, "stdin")
		require.ErrorIs(t, err, boom)
		require.Contains(t, err.Error(), "stdin")
		require.Nil(t, s)
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		require.Empty(t, entries, "a failed snapshot leaves no file behind")
	})
	t.Run("no such directory", func(t *testing.T) {
		t.Parallel()
		s, err := input.SnapshotReader(strings.NewReader("1"), filepath.Join(t.TempDir(), "missing"), "stdin")
		require.ErrorIs(t, err, os.ErrNotExist)
		require.Nil(t, s)
	})
}

func TestCount(t *testing.T) {
	t.Parallel()
	n, err := input.Count(input.Random(1, 1_000_000_000, 10))
	require.NoError(t, err, "a random source is counted without drawing its integers")
	require.Equal(t, uint64(1_000_000_000), n)
	n, err = input.Count(snapshot(t, writeFile(t, "1 2\n3")))
	require.NoError(t, err)
	require.Equal(t, uint64(3), n)
	empty := writeFile(t, "\n")
	_, err = input.SnapshotFile(empty, t.TempDir())
	requireInputError(t, err, empty, 0, "")
	bad := writeFile(t, "1 x")
	_, err = input.SnapshotFile(bad, t.TempDir())
	requireInputError(t, err, bad, 1, "x")
	_, err = input.Count(input.Random(1, 0, 10))
	requireInputError(t, err, "random", 0, "")
}
