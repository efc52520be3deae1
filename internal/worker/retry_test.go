package worker_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/worker"
)

func TestRetryDelay(t *testing.T) {
	task := asynq.NewTask(testTaskType, nil)
	failed := errors.New("write failed")
	tests := []struct {
		n        int
		err      error
		min, max time.Duration
	}{
		// A dead worker's task is retried at once, however often it died.
		{0, asynq.ErrLeaseExpired, 0, 0},
		{5, asynq.ErrLeaseExpired, 0, 0},
		{100, fmt.Errorf("task abc: %w", asynq.ErrLeaseExpired), 0, 0},
		// Other failures back off exponentially, with jitter in [d/2, d].
		{0, failed, 500 * time.Millisecond, time.Second},
		{1, failed, time.Second, 2 * time.Second},
		{2, failed, 2 * time.Second, 4 * time.Second},
		{3, failed, 4 * time.Second, 8 * time.Second},
		{4, failed, 8 * time.Second, 16 * time.Second},
		{5, failed, 16 * time.Second, 32 * time.Second},
		// Capped at 1 minute.
		{6, failed, 30 * time.Second, time.Minute},
		{7, failed, 30 * time.Second, time.Minute},
		{25, failed, 30 * time.Second, time.Minute},
		{math.MaxInt, failed, 30 * time.Second, time.Minute},
		{3, asynq.SkipRetry, 4 * time.Second, 8 * time.Second},
		{3, context.DeadlineExceeded, 4 * time.Second, 8 * time.Second},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("n=%d/%v", tt.n, tt.err), func(t *testing.T) {
			seen := make(map[time.Duration]bool)
			for range 200 {
				d := worker.RetryDelay(tt.n, tt.err, task)
				require.GreaterOrEqual(t, d, tt.min)
				require.LessOrEqual(t, d, tt.max)
				seen[d] = true
			}
			if tt.max > 0 {
				// 200 draws from over 250 million values: all equal only
				// if there is no jitter.
				require.Greater(t, len(seen), 1, "distinct delays in 200 draws")
			}
		})
	}
}
