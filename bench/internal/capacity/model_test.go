package capacity

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/bench/internal/redisstat"
)

// point is a run of batches over span that cost load × span + perBatch ×
// batches of CPU.
func point(t *testing.T, batches int, span time.Duration, fixed, perBatch float64) Point {
	t.Helper()
	cpu := time.Duration((fixed*span.Seconds() + perBatch*float64(batches)) * float64(time.Second))
	return Point{Batches: batches, Span: span, CPU: cpu}
}

func TestFitPoints(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name            string
		points          func(t *testing.T) []Point
		fixed, perBatch float64
		err             error
	}{
		{"two rates, exact", func(t *testing.T) []Point {
			return []Point{point(t, 2000, time.Second, 0.02, 80e-6), point(t, 2000, 4*time.Second, 0.02, 80e-6)}
		}, 0.02, 80e-6, nil},
		{"three rates, no fixed cost", func(t *testing.T) []Point {
			return []Point{point(t, 1000, time.Second, 0, 100e-6), point(t, 1000, 2*time.Second, 0, 100e-6), point(t, 3000, time.Second, 0, 100e-6)}
		}, 0, 100e-6, nil},
		{"one rate", func(t *testing.T) []Point {
			return []Point{point(t, 2000, time.Second, 0.02, 80e-6), point(t, 4000, 2*time.Second, 0.02, 80e-6)}
		}, 0, 0, ErrOneRate},
		{"one point", func(t *testing.T) []Point { return []Point{point(t, 2000, time.Second, 0.02, 80e-6)} }, 0, 0, ErrOneRate},
		{"no point", func(*testing.T) []Point { return nil }, 0, 0, ErrOneRate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, err := FitPoints(tc.points(t))
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.InDelta(t, tc.fixed, f.Fixed, 1e-6)
			require.InDelta(t, tc.perBatch, f.PerBatch, 1e-9)
		})
	}
}

func TestPredict(t *testing.T) {
	t.Parallel()
	f := Fit{Fixed: 0.02, PerBatch: 80e-6}
	// 20 ms/s over 2 s, and 80 µs for each of 1,000 batches.
	require.Equal(t, 120*time.Millisecond, f.Predict(2*time.Second, 1000))
}

func TestTripsShare(t *testing.T) {
	t.Parallel()
	cmds := map[string]redisstat.CmdStat{"evalsha": {Calls: 6000}, "exec": {Calls: 4000}, "setbit": {Calls: 2000}, "hset": {Calls: 6000}}
	tr := TripsOf(cmds, 2000)
	require.Equal(t, Trips{Queue: 3, Result: 1, Done: 1}, tr)
	for _, tc := range []struct {
		name                  string
		tasks, results, marks int
		want                  float64
	}{
		{"a single master holds everything", 2000, 2000, 2000, 2000},
		{"a third of tasks and results, no mark", 667, 667, 0, 667 * 4.0 / 5},
		{"a third of tasks and results, every mark", 666, 666, 2000, (666*4.0 + 2000) / 5},
		{"nothing", 0, 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.InDelta(t, tc.want, tr.Share(tc.tasks, tc.results, tc.marks), 1e-9)
		})
	}
	require.Zero(t, Trips{}.Share(1, 1, 1), "no request counted: no share")
}
