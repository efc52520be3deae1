package runs_test

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
			require.Equal(t, tt.want, runs.PausedMessage(tt.queues))
		})
	}
}
