package suite

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/input"
)

// The peers read the file writeNumbers writes; bitqueue's trials draw
// input.Random(seed, n, max). Both must be the same integers.
func TestWriteNumbersIsTheTrialsInput(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		seed, n, max uint64
	}{{1, 1, 2}, {42, 1000, 1 << 20}, {7, 5000, 1 << 63}} {
		path := filepath.Join(t.TempDir(), "numbers.txt")
		require.NoError(t, writeNumbers(path, tc.seed, tc.n, tc.max))
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		require.Len(t, lines, int(tc.n))
		s, err := input.Random(tc.seed, tc.n, tc.max).Open()
		require.NoError(t, err)
		for i, l := range lines {
			want, err := s.Next()
			require.NoError(t, err)
			require.Equal(t, strconv.FormatUint(want, 10), l, "seed %d, integer %d", tc.seed, i)
		}
	}
}
