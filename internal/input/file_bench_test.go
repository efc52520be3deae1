package input_test

import (
	"bufio"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"bitqueue/fixture"
	"bitqueue/internal/input"
)

// BenchmarkInputFilePass is one pass of the producer over a file of
// 1,000,000 integers below 2^20, one per line: the producer reads its input
// twice (checking every token, then enqueueing), so twice this is the
// parsing share of "1,000,000 integers from a file enqueued".
func BenchmarkInputFilePass(b *testing.B) {
	const n = 1_000_000
	path := filepath.Join(b.TempDir(), "numbers.txt")
	writeNumbers(b, path, n, 1<<20)
	src, err := input.SnapshotFile(path, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	for b.Loop() {
		// A snapshot knows its count (input.Count reads nothing): read
		// the integers, as the producer's enqueueing pass does.
		st, err := src.Open()
		if err != nil {
			b.Fatal(err)
		}
		got := 0
		for {
			_, err := st.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			got++
		}
		st.Close()
		if got != n {
			b.Fatalf("read %d integers, want %d", got, n)
		}
	}
	fixture.ReportInts(b, n)
}

// writeNumbers writes n random integers below limit to path, one per line.
func writeNumbers(tb testing.TB, path string, n, limit uint64) {
	tb.Helper()
	f, err := os.Create(path)
	require.NoError(tb, err)
	w := bufio.NewWriterSize(f, 1<<16)
	src, err := input.Random(1, n, limit).Open()
	require.NoError(tb, err)
	line := make([]byte, 0, 24)
	for range n {
		v, err := src.Next()
		require.NoError(tb, err)
		line = strconv.AppendUint(line[:0], v, 10)
		line = append(line, '\n')
		_, err = w.Write(line)
		require.NoError(tb, err)
	}
	require.NoError(tb, w.Flush())
	require.NoError(tb, f.Close())
}
