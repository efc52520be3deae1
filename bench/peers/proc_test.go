package peers

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseStat(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, line string
		pgrp       int
		ticks      uint64
		bad        bool
	}{
		{"plain", "4242 (python3) S 1 4240 4240 0 -1 4194560 100 0 0 0 250 37 0 0 20 0 1 0 99 1000 10", 4240, 287, false},
		{"name with spaces and parens", "7 (a) b (c) R 1 9 9 0 -1 0 0 0 0 0 5 6 0 0 20 0 1 0 1 1 1", 9, 11, false},
		{"no parens", "7 python3 R 1 9 9", 0, 0, true},
		{"short", "7 (x) R 1 9", 0, 0, true},
		{"not a number", "7 (x) R 1 x 9 0 -1 0 0 0 0 0 5 6", 0, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pgrp, ticks, err := parseStat([]byte(tc.line))
			if tc.bad {
				require.ErrorIs(t, err, errStat)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.pgrp, pgrp)
			require.Equal(t, tc.ticks, ticks)
		})
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte("4242 (python3) S 1 4240 4240 0 -1 4194560 100 0 0 0 250 37 0 0 20 0 1 0 99 1000 10"))
	f.Add([]byte("1 ()) R"))
	if b, err := os.ReadFile("/proc/self/stat"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _, _ = parseStat(b) // must not panic
	})
}

func TestGroupCPUCountsThisProcess(t *testing.T) {
	t.Parallel()
	// This test binary leads its own process group or not; either way its
	// group holds it, and it has used some CPU by now.
	b, err := os.ReadFile("/proc/self/stat")
	require.NoError(t, err)
	pgrp, _, err := parseStat(b)
	require.NoError(t, err)
	cpu, err := groupCPU(pgrp)
	require.NoError(t, err)
	require.Positive(t, cpu)
	none, err := groupCPU()
	require.NoError(t, err)
	require.Zero(t, none)
}

func TestParseReport(t *testing.T) {
	t.Parallel()
	r, err := parseReport(`{"peer": "pool", "wall_seconds": 1.5, "ints": 20000, "batches": 20, "versions": "python 3.11.2"}`)
	require.NoError(t, err)
	require.Equal(t, Result{Peer: "pool", Wall: 1500 * time.Millisecond, Ints: 20000, Batches: 20, Versions: "python 3.11.2"}, r)
	for _, bad := range []string{``, `{"ready": true}`, `{"peer": "pool", "wall_seconds": 0}`, `{"peer": "pool", "wall_seconds": "1"}`, `Traceback`} {
		_, err := parseReport(bad)
		require.Error(t, err, "%q", bad)
	}
}

func FuzzParseReport(f *testing.F) {
	f.Add(`{"peer": "celery", "wall_seconds": 2.25, "ints": 1000000, "batches": 1000, "versions": "celery 5.2.6"}`)
	f.Add(`{"ready": true}`)
	f.Add(`{"wall_seconds": 1e308}`)
	f.Fuzz(func(t *testing.T, line string) {
		r, err := parseReport(line)
		if err == nil && !(r.Wall > 0 && r.Wall <= maxWall) {
			t.Fatalf("%q: wall %s accepted", line, r.Wall)
		}
	})
}
