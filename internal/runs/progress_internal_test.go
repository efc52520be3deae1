package runs

import (
	"errors"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/base"
)

func TestProgressOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		batchSize  int
		integers   uint64 // the run's
		done, all  int
		want, tall uint64 // Integers, TotalIntegers
	}{
		{"none done", 100, 250, 0, 3, 0, 250},
		{"full batches done", 100, 250, 2, 3, 200, 250},
		{"every batch done: exact, the last one short", 100, 250, 3, 3, 250, 250},
		{"batches of one", 1, 5, 4, 5, 4, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := base.Record{RunID: "r", Batches: tt.all, Integers: tt.integers, BatchSize: tt.batchSize}
			got := progressOf(rec, tt.done, time.Second)
			require.Equal(t, ProgressInfo{RunID: "r", Done: tt.done, Total: tt.all, Integers: tt.want, TotalIntegers: tt.tall, Elapsed: time.Second}, got)
			require.Equal(t, tt.done == tt.all, got.Finished())
		})
	}
}

func TestUnservedQueues(t *testing.T) {
	t.Parallel()
	server := func(status string, queues ...string) *asynq.ServerInfo {
		s := &asynq.ServerInfo{Status: status, Queues: map[string]int{}}
		for _, q := range queues {
			s.Queues[q] = 1
		}
		return s
	}
	tests := []struct {
		name    string
		servers []*asynq.ServerInfo
		queues  []string
		want    []string
	}{
		{"no server", nil, []string{"bits"}, []string{"bits"}},
		{"served", []*asynq.ServerInfo{server("active", "bits")}, []string{"bits"}, nil},
		{"another queue's server", []*asynq.ServerInfo{server("active", "other")}, []string{"bits"}, []string{"bits"}},
		{"a stopped server pulls nothing", []*asynq.ServerInfo{server("stopped", "bits")}, []string{"bits"}, []string{"bits"}},
		{"a closed server pulls nothing", []*asynq.ServerInfo{server("closed", "bits")}, []string{"bits"}, []string{"bits"}},
		{"shards served in part, in the run's order", []*asynq.ServerInfo{server("active", "bits-1", "bits-3")}, []string{"bits-0", "bits-1", "bits-2", "bits-3"}, []string{"bits-0", "bits-2"}},
		{"shards served by several", []*asynq.ServerInfo{server("active", "bits-0"), server("active", "bits-1")}, []string{"bits-0", "bits-1"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, unservedQueues(tt.servers, tt.queues))
		})
	}
}

// TestWorkerWatch drives the state machine with a fake clock: each step is
// a check at a time (seconds from the start) seeing the queue served or
// not, and whether it reports.
func TestWorkerWatch(t *testing.T) {
	t.Parallel()
	type step struct {
		at     float64 // seconds
		served bool
		report float64 // seconds unserved reported; 0: no report
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"never served: one report after 10s", []step{{0, false, 0}, {2, false, 0}, {8, false, 0}, {10, false, 10}, {12, false, 0}, {60, false, 0}}},
		{"served throughout: none", []step{{0, true, 0}, {10, true, 0}, {20, true, 0}}},
		{"the delay counts from the first check seen unserved", []step{{0, true, 0}, {4, false, 0}, {12, false, 0}, {14, false, 10}}},
		{"a worker coming back restarts the delay", []step{{0, false, 0}, {8, true, 0}, {10, false, 0}, {18, false, 0}, {20, false, 10}}},
		{"reported again only after workers came and went", []step{{0, false, 0}, {10, false, 10}, {20, false, 0}, {22, true, 0}, {24, false, 0}, {34, false, 10}, {50, false, 0}}},
		{"checks closer than every list nothing", []step{{0, false, 0}, {1, true, 0}, {10.5, false, 10.5}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var served bool
			lists := 0
			list := func() ([]*asynq.ServerInfo, error) {
				lists++
				if served {
					return []*asynq.ServerInfo{{Status: "active", Queues: map[string]int{"bits": 1}}}, nil
				}
				return nil, nil
			}
			ww := newWorkerWatch(list, []string{"bits"}, Watch{UnservedAfter: 10 * time.Second, ServerCheck: 2 * time.Second})
			start := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
			for _, s := range tt.steps {
				served = s.served
				queues, d, err := ww.check(start.Add(time.Duration(s.at * float64(time.Second))))
				require.NoError(t, err)
				if s.report == 0 {
					require.Nil(t, queues, "at %gs", s.at)
					continue
				}
				require.Equal(t, []string{"bits"}, queues, "at %gs", s.at)
				require.Equal(t, time.Duration(s.report*float64(time.Second)), d, "at %gs", s.at)
			}
			require.Positive(t, lists)
		})
	}
}

// TestWorkerWatchListError keeps the state when the servers cannot be
// listed, and tries again at the next check.
func TestWorkerWatchListError(t *testing.T) {
	t.Parallel()
	fail := true
	ww := newWorkerWatch(func() ([]*asynq.ServerInfo, error) {
		if fail {
			return nil, errors.New("down")
		}
		return nil, nil
	}, []string{"bits"}, Watch{UnservedAfter: time.Second, ServerCheck: time.Second})
	start := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	_, _, err := ww.check(start)
	require.EqualError(t, err, "down")
	fail = false
	queues, _, err := ww.check(start.Add(time.Second))
	require.NoError(t, err)
	require.Nil(t, queues, "first seen unserved now")
	queues, d, err := ww.check(start.Add(2 * time.Second))
	require.NoError(t, err)
	require.Equal(t, []string{"bits"}, queues)
	require.Equal(t, time.Second, d)
}
