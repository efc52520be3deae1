package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func fakeTrial(kind string, w, b int, wall time.Duration) Trial {
	n := uint64(2_000_000)
	return Trial{
		Kind: kind, Workers: w, Batch: b, Ints: n, Batches: int(n) / b, Wall: wall, Enqueue: wall / 3,
		P50: wall / 2, P99: wall, Max: wall,
		CPU:      CPU{Redis: wall / 2, Workers: wall, Bench: wall / 4},
		Commands: map[string]CmdStat{"evalsha": {Calls: 3 * int64(n) / int64(b), Usec: 200 * int64(n) / int64(b)}},
	}
}

func fakeReport() *Report {
	r := &Report{
		Started: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC), Took: 3 * time.Minute,
		Machine: Machine{CPUs: 2, Model: "Test CPU", Memory: "1 kB", Kernel: "6", Go: "go1.26", LoadAvg: "0 0 0"},
		Redis:   "redis-server 7", Opts: Options{Workers: 2, Count: 2_000_000, BatchSize: 1000, Max: 1 << 20, Repeat: 1, ProducerConcurrency: 8, FileCount: 1_000_000, SweepRepeat: 1},
		Main: Cell{Workers: 2, Batch: 1000,
			Bits: []Trial{fakeTrial(KindBits, 2, 1000, 200*time.Millisecond)}, Empty: []Trial{fakeTrial(KindEmpty, 2, 1000, 150*time.Millisecond)}},
		Idle:       []time.Duration{10 * time.Millisecond, 20 * time.Millisecond},
		Ready:      []time.Duration{12 * time.Millisecond, 14 * time.Millisecond},
		PeakRSS:    []int64{20 << 20, 21 << 20},
		CacheBytes: 8 << 20,
		Memory:     Memory{Ints: 2_000_000, Keys: 2000, UsedDelta: 5_600_000, PackedBits: 5_000_000, SampleKeys: 50, SampleUse: 2800, SampleBits: 2500},
		Producer:   []time.Duration{200 * time.Millisecond, 210 * time.Millisecond, 220 * time.Millisecond},
		Profile:    "File: worker\nType: cpu\n      flat  flat%\n",
	}
	for _, w := range []int{1, 2, 4} {
		for _, b := range []int{100, 1000, 10000} {
			r.Sweep = append(r.Sweep, Cell{Workers: w, Batch: b,
				Bits:  []Trial{fakeTrial(KindBits, w, b, time.Duration(1e9*100/b/w+100e6))},
				Empty: []Trial{fakeTrial(KindEmpty, w, b, time.Duration(1e9*50/b/w+80e6))}})
		}
	}
	return r
}

func TestMarkdown(t *testing.T) {
	t.Parallel()
	md := fakeReport().Markdown("bench --sweep", "docs/bench-sweep.svg", "BENCHMARKS.md")
	require.True(t, strings.HasPrefix(md, BeginMarker), md)
	require.True(t, strings.HasSuffix(md, EndMarker+"\n"), md)
	for _, want := range []string{
		"`bench --sweep`", "**10.00 M ints/s**", "**75 %**", "p50 10.0 ms, p99 20.0 ms", "1.12 ×",
		"300 B fixed per key", "**0.210 s**", "](docs/bench-sweep.svg)", "| 4 | 10,000 |", "Type: cpu",
	} {
		require.Contains(t, md, want)
	}
	require.NotContains(t, md, "File: worker")
}

func TestChart(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"sweep.svg", "sweep.png"} {
		path := filepath.Join(t.TempDir(), name)
		require.NoError(t, Chart(path, fakeReport()))
		st, err := os.Stat(path)
		require.NoError(t, err)
		require.Greater(t, st.Size(), int64(1000))
	}
	require.Error(t, Chart(filepath.Join(t.TempDir(), "x.svg"), &Report{}))
}
