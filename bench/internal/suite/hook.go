package suite

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"

	"bitqueue/bench/internal/measure"
	"bitqueue/bench/internal/report"
	"bitqueue/bench/internal/trial"
)

// hookRuns is how many times each benchmark of the hook's comparison runs.
const hookRuns = 5

// hook runs the product's Go benchmarks that compare the startup hook's
// cache with math/bits (`make bench` runs them too) and returns their
// medians in integers per second.
func hook(ctx context.Context, e *trial.Env) (*report.Hook, error) {
	h := &report.Hook{Count: hookRuns}
	for _, r := range []report.HookRow{
		{What: "one bitstring of a random integer below 2^20", Cache: "BenchmarkLookup", Direct: "BenchmarkDirect"},
		{What: "a batch of 1,000 packed", Cache: "BenchmarkPack", Direct: "BenchmarkPackDirect"},
	} {
		pkg := "bitqueue/internal/cache"
		if strings.HasPrefix(r.Cache, "BenchmarkPack") {
			pkg = "bitqueue/internal/tasks"
		}
		fmt.Fprintf(e.Log, "hook: %s against %s (%s, %d runs)\n", r.Cache, r.Direct, pkg, hookRuns)
		out, err := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", "^("+r.Cache+"|"+r.Direct+")$",
			"-count", strconv.Itoa(hookRuns), pkg).CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("go test -bench %s: %v: %s", pkg, err, out)
		}
		got := intsPerSec(string(out))
		if len(got[r.Cache]) == 0 || len(got[r.Direct]) == 0 {
			return nil, fmt.Errorf("go test -bench %s: no ints/s of %s and %s in:\n%s", pkg, r.Cache, r.Direct, out)
		}
		r.CacheIntsPerS, r.DirectIntsPerS = measure.MedianFloat(got[r.Cache]), measure.MedianFloat(got[r.Direct])
		h.Rows = append(h.Rows, r)
	}
	return h, nil
}

// intsPerSec reads the ints/s metric of every benchmark line of go test's
// output, by benchmark name (without its -GOMAXPROCS suffix).
func intsPerSec(out string) map[string][]float64 {
	got := map[string][]float64{}
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		if len(f) < 2 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name, _, _ := strings.Cut(f[0], "-")
		for i := 1; i+1 < len(f); i++ {
			if f[i+1] == "ints/s" {
				if v, err := strconv.ParseFloat(f[i], 64); err == nil {
					got[name] = append(got[name], v)
				}
			}
		}
	}
	return got
}
