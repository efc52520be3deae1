package base

import "testing"

// TestIsTaskID runs alone: AllocsPerRun refuses a parallel test.
func TestIsTaskID(t *testing.T) {
	for _, tc := range []struct {
		id    string
		runID string
		seq   uint64
		want  bool
	}{
		{"r:0", "r", 0, true},
		{"run-1:42", "run-1", 42, true},
		{"run-1:18446744073709551615", "run-1", 1<<64 - 1, true},
		{"run-1:42", "run-1", 4, false},
		{"run-1:042", "run-1", 42, false},
		{"run-12:42", "run-1", 42, false},
		{"run-1", "run-1", 0, false},
		{"run-1:", "run-1", 0, false},
		{"other:42", "run-1", 42, false},
		{"", "r", 0, false},
	} {
		if got := IsTaskID(tc.id, tc.runID, tc.seq); got != tc.want {
			t.Errorf("IsTaskID(%q, %q, %d) = %v, want %v", tc.id, tc.runID, tc.seq, got, tc.want)
		}
		if got := IsTaskID(tc.id, tc.runID, tc.seq); got != (tc.id == TaskID(tc.runID, tc.seq)) {
			t.Errorf("IsTaskID(%q, %q, %d) disagrees with TaskID", tc.id, tc.runID, tc.seq)
		}
	}
	if n := testing.AllocsPerRun(100, func() { IsTaskID("run-1:42", "run-1", 42) }); n != 0 {
		t.Errorf("IsTaskID allocates %v times per call", n)
	}
}
