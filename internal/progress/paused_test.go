package progress

import (
	"testing"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/runs"
)

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
