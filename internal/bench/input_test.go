package bench

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/input"
	"bitqueue/internal/runs"
)

// BenchmarkInputFilePass is one pass of the producer over a file of
// 1,000,000 integers below 2^20, one per line: the producer reads its input
// twice (checking every token, then enqueueing), so twice this is the
// parsing share of "1,000,000 integers from a file enqueued".
func BenchmarkInputFilePass(b *testing.B) {
	const n = 1_000_000
	path := filepath.Join(b.TempDir(), "numbers.txt")
	require.NoError(b, writeNumbers(path, n, 1<<20))
	src := input.File(path)
	for b.Loop() {
		got, err := runs.Count(src)
		if err != nil || got != n {
			b.Fatalf("counted %d integers (%v), want %d", got, err, n)
		}
	}
	b.ReportMetric(float64(b.N)*n/b.Elapsed().Seconds(), "ints/s")
}
