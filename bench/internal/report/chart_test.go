package report

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestChart(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		report *Report
	}{
		{"sweep.svg", fakeReport()},
		{"sweep.png", fakeReport()},
		{"peers.svg", peersReport()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), tc.name)
			require.NoError(t, Chart(path, tc.report))
			st, err := os.Stat(path)
			require.NoError(t, err)
			require.Greater(t, st.Size(), int64(1000))
		})
	}
	require.Error(t, Chart(filepath.Join(t.TempDir(), "x.svg"), &Report{}))
}
