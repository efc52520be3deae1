package measure

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// stack is a sample of d whose frames are fs, leaf first.
func stack(d time.Duration, fs ...string) Stack { return Stack{CPU: d, Frames: fs} }

// partCPU is SplitWorker's figure for the part named name.
func partCPU(t *testing.T, parts []PartCPU, name string) time.Duration {
	t.Helper()
	for _, p := range parts {
		if p.Name == name {
			return p.CPU
		}
	}
	require.Failf(t, "no such part", "%q", name)
	return 0
}

func TestSplitWorker(t *testing.T) {
	t.Parallel()
	const (
		handler = "the handler, as a whole"
		metrics = "metrics"
		logging = "logging"
		write   = "the result write"
		redis   = "of which the go-redis client"
		decode  = "decoding the payload"
		pack    = "converting and packing"
		rest    = "the rest of the handler"
		gc      = "outside the handler: the garbage collector's background marking"
		worker  = "outside the handler: the rest of the worker"
	)
	ms := time.Millisecond
	const (
		process = "bitqueue/internal/tasks.(*BitsHandler).process"
		task    = "bitqueue/internal/tasks.(*BitsHandler).ProcessTask"
		wrapper = "main.run.func2.(*Worker).Handler.1" // the metrics wrapper, inlined into the worker's main
		save    = "bitqueue/internal/results.(*Saver).Save"
	)
	t.Run("captured", func(t *testing.T) {
		t.Parallel()
		stacks, err := ParseTraces(capturedTraces(t))
		require.NoError(t, err)
		total, parts := SplitWorker(stacks)
		require.Equal(t, 230*ms, total)
		// Summed by hand from the file: the stacks that hold each part's
		// functions.
		for name, want := range map[string]time.Duration{
			handler: 150 * ms, write: 30 * ms, redis: 20 * ms, decode: 10 * ms, pack: 110 * ms, rest: 0,
			metrics: 0, logging: 0, gc: 10 * ms, worker: 70 * ms,
		} {
			require.Equal(t, want, partCPU(t, parts, name), name)
		}
	})
	for _, tc := range []struct {
		name  string
		stack Stack
		want  map[string]time.Duration
	}{
		{"the metrics in the result write are metrics", stack(10*ms, "github.com/prometheus/client_golang/prometheus.(*histogram).Observe", "bitqueue/internal/metrics.(*Worker).ObserveSave", save, process, task),
			map[string]time.Duration{handler: 10 * ms, metrics: 10 * ms, write: 0}},
		{"the wrapper's own metrics", stack(10*ms, "github.com/prometheus/client_golang/prometheus.(*gauge).Inc", wrapper),
			map[string]time.Duration{handler: 10 * ms, metrics: 10 * ms}},
		{"the wrapper compiled on its own", stack(10*ms, "time.Now", "bitqueue/internal/metrics.(*Worker).Handler.func1"),
			map[string]time.Duration{handler: 10 * ms, rest: 10 * ms}},
		{"logging", stack(10*ms, "log/slog.(*Logger).Enabled", process, task),
			map[string]time.Duration{handler: 10 * ms, logging: 10 * ms}},
		{"the write outside go-redis", stack(10*ms, "bitqueue/internal/base.ResultKey", "bitqueue/internal/rdb.(*RDB).writeResults", save, process, task),
			map[string]time.Duration{handler: 10 * ms, write: 10 * ms, redis: 0}},
		{"allocation in the handler", stack(10*ms, "runtime.mallocgc", process, task, wrapper),
			map[string]time.Duration{handler: 10 * ms, rest: 10 * ms}},
		{"asynq's go-redis calls are not the handler's", stack(10*ms, "github.com/redis/go-redis/v9.(*Script).EvalSha", "github.com/hibiken/asynq/internal/rdb.(*RDB).Done"),
			map[string]time.Duration{handler: 0, redis: 0, worker: 10 * ms}},
		{"a function named like the handler's elsewhere", stack(10*ms, "github.com/other/metrics.(*Worker).Handler.func1"),
			map[string]time.Duration{handler: 0, worker: 10 * ms}},
		{"background marking", stack(10*ms, "runtime.scanobject", "runtime.gcDrain", "runtime.gcBgMarkWorker.func2", "runtime.gcBgMarkWorker"),
			map[string]time.Duration{handler: 0, gc: 10 * ms}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			total, parts := SplitWorker([]Stack{tc.stack})
			require.Equal(t, tc.stack.CPU, total)
			for name, want := range tc.want {
				require.Equal(t, want, partCPU(t, parts, name), name)
			}
			var sum time.Duration // the handler's parts and what is outside it add up to the whole
			for _, p := range parts {
				if p.Depth != 2 && p.Name != handler {
					sum += p.CPU
				}
			}
			require.Equal(t, total, sum)
		})
	}
}

func TestAttribution(t *testing.T) {
	t.Parallel()
	trial := func(batches int, workers time.Duration) Trial {
		return Trial{Batches: batches, CPU: CPU{Workers: workers}}
	}
	part := PartCPU{Name: "p", CPU: 100 * time.Millisecond}
	a := Attribution{
		Trials:  []Trial{trial(100, 300*time.Millisecond), trial(100, 500*time.Millisecond)},
		CPU:     time.Second,            // over the window: the trials' 800 ms and 200 ms more
		Sampled: 500 * time.Millisecond, // 50 samples
	}
	require.InDelta(t, 200, a.Batches(), 1e-9)
	require.InDelta(t, 0.2, a.Share(part), 1e-12)
	require.InDelta(t, 5000, a.WindowPerBatch(), 1e-9, "1 s over 200 batches")
	require.InDelta(t, 4000, a.TrialsPerBatch(), 1e-9, "800 ms over 200 batches")
	require.InDelta(t, 1000, a.PerBatch(part), 1e-9, "a fifth of the samples: a fifth of 5,000 µs")
	require.Equal(t, 50, a.Samples())
	require.InDelta(t, 282.842712, a.Spread(part), 1e-6, "√(0.2 × 0.8 / 50) × 5,000 µs")
	require.Zero(t, Attribution{}.Share(part), "no sample: no share")
	require.Zero(t, Attribution{}.Spread(part))
	got, ok := Attribution{Parts: []PartCPU{part}}.Part("p")
	require.True(t, ok)
	require.Equal(t, part, got)
	_, ok = a.Part("q")
	require.False(t, ok)
}
