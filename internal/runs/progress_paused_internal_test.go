package runs

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestPausedWatch drives the paused queues' watch with a fake clock: each
// step is a check at a time (seconds from the start) seeing some queues
// paused, and what it reports.
func TestPausedWatch(t *testing.T) {
	t.Parallel()
	type step struct {
		at     float64  // seconds
		paused []string // paused at that time
		report []string // nil: no report
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"never paused: none", []step{{0, nil, nil}, {2, nil, nil}, {10, nil, nil}}},
		{"paused from the start: reported at the first check, once", []step{{0, []string{"bits"}, []string{"bits"}}, {2, []string{"bits"}, nil}, {60, []string{"bits"}, nil}}},
		{"paused later: reported at the next check", []step{{0, nil, nil}, {2, []string{"bits"}, []string{"bits"}}, {4, []string{"bits"}, nil}}},
		{"resumed, then paused again: reported again", []step{{0, []string{"bits"}, []string{"bits"}}, {2, nil, nil}, {4, []string{"bits"}, []string{"bits"}}}},
		{"another shard paused: all reported again", []step{{0, []string{"bits-1"}, []string{"bits-1"}}, {2, []string{"bits-0", "bits-1"}, []string{"bits-0", "bits-1"}}, {4, []string{"bits-0"}, nil}}},
		{"checks closer than every list nothing", []step{{0, nil, nil}, {1, []string{"bits"}, nil}, {2, []string{"bits"}, []string{"bits"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var paused []string
			lists := 0
			pw := newPausedWatch(func() ([]string, error) { lists++; return paused, nil }, Watch{ServerCheck: 2 * time.Second})
			start := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
			for _, s := range tt.steps {
				paused = s.paused
				got, err := pw.check(start.Add(time.Duration(s.at * float64(time.Second))))
				require.NoError(t, err)
				require.Equal(t, s.report, got, "at %gs", s.at)
			}
			require.Positive(t, lists)
		})
	}
}

// TestPausedWatchListError keeps the state when the paused queues cannot be
// read, and tries again at the next check.
func TestPausedWatchListError(t *testing.T) {
	t.Parallel()
	fail := true
	pw := newPausedWatch(func() ([]string, error) {
		if fail {
			return nil, errors.New("down")
		}
		return []string{"bits"}, nil
	}, Watch{})
	start := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	_, err := pw.check(start)
	require.EqualError(t, err, "down")
	fail = false
	got, err := pw.check(start.Add(DefaultServerCheck))
	require.NoError(t, err)
	require.Equal(t, []string{"bits"}, got)
}
