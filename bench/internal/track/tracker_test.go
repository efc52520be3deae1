package track

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSplitTaskID(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, id string
		run      string
		seq      int
		ok       bool
	}{
		{"run and seq", "bench-1a2b-r3:1234", "bench-1a2b-r3", 1234, true},
		{"no seq", "no-seq", "", 0, false},
		{"seq not a number", "run:x", "", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			run, seq, ok := splitTaskID(tc.id)
			require.Equal(t, tc.ok, ok)
			if tc.ok {
				require.Equal(t, tc.run, run)
				require.Equal(t, tc.seq, seq)
			}
		})
	}
}

func TestResultPattern(t *testing.T) {
	t.Parallel()
	require.Equal(t, "bench-1a2b:result:*:*", resultPattern("bench-1a2b"))
}

func TestFollowMarksEachBatchOnce(t *testing.T) {
	t.Parallel()
	tr := &Tracker{runs: map[string]*Followed{}}
	r := tr.Follow("r1", 2, ResultStored)
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	tr.stampEnqueue("r1:0", t0)
	tr.stampEnqueue("r1:1", t0.Add(time.Millisecond))
	tr.mark("r1", 0, TaskDeleted, t0.Add(time.Second)) // another signal: ignored
	require.False(t, tr.Done(r, 0))
	tr.mark("r1", 0, ResultStored, t0.Add(5*time.Millisecond))
	tr.mark("r1", 0, ResultStored, t0.Add(9*time.Millisecond)) // a second event of batch 0: ignored
	require.True(t, tr.Done(r, 0))
	require.Equal(t, 1, r.Remaining())
	tr.mark("r1", 1, ResultStored, t0.Add(7*time.Millisecond))
	select {
	case <-r.done:
	default:
		t.Fatal("run r1 not done after its last batch")
	}
	require.Equal(t, []time.Duration{5 * time.Millisecond, 6 * time.Millisecond}, r.Latencies())
	first, lastEnq, last := r.Span()
	require.Equal(t, t0, first)
	require.Equal(t, t0.Add(time.Millisecond), lastEnq)
	require.Equal(t, t0.Add(7*time.Millisecond), last)
}
