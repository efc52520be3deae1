package suite

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/bench/internal/config"
	"bitqueue/bench/internal/report"
	"bitqueue/internal/worker"
)

func TestIdlePlan(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		poll      time.Duration
		wantPoll  time.Duration
		wantBusy  time.Duration
		wantBound time.Duration
	}{
		{"the worker's defaults", 0, worker.DefaultPollInterval, worker.DefaultBusyPollInterval,
			worker.DefaultPollInterval*3/2 + worker.DefaultBusyPollInterval*3/2},
		{"no idle pacing: the busy poll is the poll", 10 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond, 30 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := idlePlan(config.Options{IdleWorkers: 20, IdleWindow: time.Minute, BatchSize: 1000, PollInterval: tc.poll})
			require.Equal(t, tc.wantPoll, p.PollInterval)
			require.Equal(t, tc.wantBusy, p.BusyPollInterval)
			require.Equal(t, tc.wantBound, p.LoneBound)
			require.Equal(t, worker.DefaultIdleAfter, p.IdleAfter)
			require.Greater(t, p.ProbeGap[0], p.IdleAfter, "a probe finds every worker idle again")
			require.Greater(t, p.ProbeGap[1], p.ProbeGap[0])
		})
	}
}

func TestIdleGap(t *testing.T) {
	t.Parallel()
	m := &idleMeter{r: &report.IdleFleet{ProbeGap: [2]time.Duration{2500 * time.Millisecond, 4500 * time.Millisecond}}}
	seen := map[time.Duration]bool{}
	for range 1000 {
		g := m.gap()
		require.GreaterOrEqual(t, g, m.r.ProbeGap[0])
		require.Less(t, g, m.r.ProbeGap[1])
		seen[g] = true
	}
	require.Greater(t, len(seen), 100, "gaps are random")
}
