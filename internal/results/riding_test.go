package results_test

import (
	"bitqueue/internal/base"
	"context"
	"errors"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/outage"
	"bitqueue/internal/results"
)

// flakyStore fails its first failures saves with err.
type flakyStore struct {
	failures int
	err      error
	calls    int
	saved    []string
}

func (f *flakyStore) Save(_ context.Context, runID string, seq uint64, _ base.Result) error {
	f.calls++
	if f.calls <= f.failures {
		return f.err
	}
	f.saved = append(f.saved, fmt.Sprintf("%s:%d", runID, seq))
	return nil
}

func TestRidingStoreRidesOutAnOutage(t *testing.T) {
	t.Parallel()
	refused := fmt.Errorf("dial tcp 127.0.0.1:6379: %w", syscall.ECONNREFUSED)
	tests := []struct {
		name      string
		failures  int
		err       error
		bound     time.Duration
		wantCalls int
		wantErr   bool
	}{
		{"no outage", 0, nil, time.Second, 1, false},
		{"short outage", 3, refused, 10 * time.Second, 4, false},
		{"Redis loading its data", 2, errors.New("LOADING Redis is loading the dataset in memory"), 10 * time.Second, 3, false},
		{"outage past the bound", 1000, refused, 300 * time.Millisecond, 3, true},
		{"permanent error", 1, errors.New("WRONGTYPE Operation against a key holding the wrong kind of value"), 10 * time.Second, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			next := &flakyStore{failures: tt.failures, err: tt.err}
			s := &results.RidingStore{Next: next, Rider: outage.New(tt.bound, nil)}
			err := s.Save(context.Background(), "run", 7, base.Result{Count: 1, Width: 1, Bits: []byte{0x80}})
			if tt.wantErr {
				require.ErrorIs(t, err, tt.err)
				require.Empty(t, next.saved)
				if tt.wantCalls > 1 {
					require.GreaterOrEqual(t, next.calls, tt.wantCalls)
				} else {
					require.Equal(t, tt.wantCalls, next.calls)
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.wantCalls, next.calls)
			require.Equal(t, []string{"run:7"}, next.saved)
		})
	}
}

// The task's context bounds the wait: a cancelled task stops saving at once.
func TestRidingStoreStopsWithTheTask(t *testing.T) {
	t.Parallel()
	next := &flakyStore{failures: 1 << 30, err: syscall.ECONNREFUSED}
	s := &results.RidingStore{Next: next, Rider: outage.New(time.Hour, nil)}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := s.Save(ctx, "run", 1, base.Result{})
	require.ErrorIs(t, err, syscall.ECONNREFUSED)
	require.Less(t, time.Since(start), 5*time.Second)
}
