package progress

import (
	"testing"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/runs"
)

func TestPausedMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		queues []string
		want   string
	}{
		{"one queue", []string{"bits"}, "queue bits is paused: `asynq queue unpause bits`; no worker takes its batches until then"},
		{"shards", []string{"bits-0", "bits-2"}, "queues bits-0, bits-2 are paused: `asynq queue unpause bits-0`, `asynq queue unpause bits-2`; no worker takes their batches until then"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, PausedMessage(tt.queues))
		})
	}
}

// TestProgressViewPaused checks the paused queue warning: a log line naming
// the queues and how to resume them, with the run and the queues as fields.
func TestProgressViewPaused(t *testing.T) {
	t.Parallel()
	p := runs.Paused{RunID: "r", Queues: []string{"bits-1"}}
	want := "queue bits-1 is paused: `asynq queue unpause bits-1`; no worker takes its batches until then"

	t.Run("json", func(t *testing.T) {
		t.Parallel()
		v, out := newTestView(t, progressJSON)
		v.Watch().Paused(p)
		require.Equal(t, []string{"WARN " + want + " run_id=r"}, jsonLines(t, out.String(), "run_id"))
	})
	t.Run("pipe", func(t *testing.T) {
		t.Parallel()
		v, out := newTestView(t, progressPlain)
		v.Watch().Paused(p)
		require.Contains(t, out.String(), "level=WARN msg=\""+want+"\" run_id=r queues=[bits-1]")
	})
}
