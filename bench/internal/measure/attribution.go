package measure

import (
	"math"
	"slices"
	"strings"
	"time"
)

// PartCPU is the CPU time a profile's samples spent in one part of a
// worker's code.
type PartCPU struct {
	Name  string // what the part is, as the report names it
	Funcs string // the functions whose samples it counts, as the report names them
	Depth int    // 0 for a part of the worker, 1 for a part of the handler, 2 for a part of that
	CPU   time.Duration
}

// PartHandler names the part that is bitqueue's handler as a whole.
const PartHandler = "the handler, as a whole"

// The parts of a worker's code SplitWorker splits its CPU profile into.
// A sample is in the handler when its stack holds the handler's root; a
// sample in the handler is in the first of its parts, in the order of
// handlerParts, whose functions its stack holds, in the rest of the handler
// when it holds none.
var (
	handlerRoot = part{PartHandler, "`metrics.(*Worker).Handler`'s wrapper → `tasks.(*BitsHandler).ProcessTask`", func(f string) bool {
		return f == "bitqueue/internal/tasks.(*BitsHandler).ProcessTask" ||
			strings.Contains(f, "(*Worker).Handler.") && (strings.HasPrefix(f, "bitqueue/internal/metrics.") || strings.HasPrefix(f, "main.")) // the wrapper inlined into the worker's main
	}}
	handlerParts = []part{
		{"metrics", "`github.com/prometheus/…`, `metrics.(*Worker).Observe`, `ObserveSave`", func(f string) bool {
			return strings.HasPrefix(f, "github.com/prometheus/") || strings.HasPrefix(f, "bitqueue/internal/metrics.(*Worker).Observe")
		}},
		{"logging", "`log/slog.…`", func(f string) bool { return strings.HasPrefix(f, "log/slog.") }},
		resultWrite,
		{"decoding the payload", "`base.DecodeBatch`", func(f string) bool { return f == "bitqueue/internal/base.DecodeBatch" }},
		{"converting and packing", "`tasks.Pack` with the cache's lookups, `cache.(*Cache).Lookup`", func(f string) bool {
			return f == "bitqueue/internal/tasks.Pack"
		}},
	}
	resultWrite = part{"the result write", "`results.(*Saver).Save` → `rdb.(*RDB).SaveResults` → go-redis, less its metrics", func(f string) bool {
		return f == "bitqueue/internal/results.(*Saver).Save"
	}}
	// writeRedis is the part of the result write in the go-redis client.
	writeRedis = part{"of which the go-redis client", "`github.com/redis/go-redis/…`", func(f string) bool {
		return strings.HasPrefix(f, "github.com/redis/go-redis/")
	}}
	// backgroundGC is the garbage collector's marking on goroutines of its
	// own.
	backgroundGC = part{"outside the handler: the garbage collector's background marking", "`runtime.gcBgMarkWorker`: the whole heap's, the handler's garbage included", func(f string) bool {
		return strings.HasPrefix(f, "runtime.gcBgMarkWorker")
	}}
)

// part is a piece of a worker's code: the frames that mark its samples.
type part struct {
	name, funcs string
	in          func(frame string) bool
}

// holds reports whether any frame of s is in p.
func (p part) holds(s Stack) bool { return slices.ContainsFunc(s.Frames, p.in) }

// SplitWorker splits the samples of a worker's CPU profile into the parts
// of its code: bitqueue's handler as a whole, then within it metrics,
// logging, the result write (and the go-redis client's share of it),
// decoding, converting and packing, and the rest of the handler; outside it,
// the garbage collector's background marking and the rest of the worker
// (asynq's processor and its Redis calls, the scheduler, the start-up). It
// returns the CPU time of every sample, and each part's.
func SplitWorker(stacks []Stack) (total time.Duration, parts []PartCPU) {
	cpu := make([]time.Duration, len(handlerParts))
	var handler, redis, gc time.Duration
	for _, s := range stacks {
		total += s.CPU
		if !handlerRoot.holds(s) {
			if backgroundGC.holds(s) {
				gc += s.CPU
			}
			continue
		}
		handler += s.CPU
		for i, p := range handlerParts {
			if p.holds(s) {
				cpu[i] += s.CPU
				if p.name == resultWrite.name && writeRedis.holds(s) {
					redis += s.CPU
				}
				break
			}
		}
	}
	parts = append(parts, PartCPU{Name: handlerRoot.name, Funcs: handlerRoot.funcs, CPU: handler})
	rest := handler
	for i, p := range handlerParts {
		parts = append(parts, PartCPU{Name: p.name, Funcs: p.funcs, Depth: 1, CPU: cpu[i]})
		if p.name == resultWrite.name {
			parts = append(parts, PartCPU{Name: writeRedis.name, Funcs: writeRedis.funcs, Depth: 2, CPU: redis})
		}
		rest -= cpu[i]
	}
	parts = append(parts,
		PartCPU{Name: "the rest of the handler", Funcs: "its own code, and the runtime's work for it: allocation, scheduling", Depth: 1, CPU: rest},
		PartCPU{Name: backgroundGC.name, Funcs: backgroundGC.funcs, CPU: gc},
		PartCPU{Name: "outside the handler: the rest of the worker", Funcs: "asynq's processor and its Redis calls, the scheduler, the start-up", CPU: total - handler - gc})
	return total, parts
}

// Attribution is what the CPU profiles of a fleet's workers, taken over
// trials at one batch size, attribute to each part of the worker's code:
// a part's share of the samples times the fleet's CPU over the profiles'
// window, per batch of the trials. Every batch is handled within the
// trials, so a part of the handler costs what it does per batch; a part
// outside it is spread over the batches too.
type Attribution struct {
	Workers, Batch int
	Trials         []Trial // the profiled trials
	// CPU is the fleet's CPU time over the profiles' window, from its
	// processes' start to just before they were stopped (/proc): what the
	// profiles cover, start-up and the gaps between trials included.
	CPU     time.Duration
	Sampled time.Duration // CPU time of every sample of the profiles
	Parts   []PartCPU     // SplitWorker's
	Err     string        // why there is no attribution, when there is none
}

// Batches is the number of batches the trials handled, at least 1.
func (a Attribution) Batches() float64 { return Batches(a.Trials) }

// Share is p's share of the profiles' samples.
func (a Attribution) Share(p PartCPU) float64 {
	if a.Sampled <= 0 {
		return 0
	}
	return float64(p.CPU) / float64(a.Sampled)
}

// PerBatch is p's CPU per batch, in µs: its share of the samples times the
// fleet's CPU over the window, over the trials' batches.
func (a Attribution) PerBatch(p PartCPU) float64 { return a.Share(p) * a.WindowPerBatch() }

// Spread is one standard error of PerBatch(p) from the sampling, in µs:
// a share of n samples is known to √(share × (1 − share) / n).
func (a Attribution) Spread(p PartCPU) float64 {
	n := float64(a.Sampled) / float64(SamplePeriod)
	if n < 1 {
		return 0
	}
	s := a.Share(p)
	return math.Sqrt(s*(1-s)/n) * a.WindowPerBatch()
}

// Samples is the number of samples of the profiles.
func (a Attribution) Samples() int { return int(a.Sampled / SamplePeriod) }

// WindowPerBatch is the fleet's CPU over the profiles' window per batch of
// the trials, in µs.
func (a Attribution) WindowPerBatch() float64 { return float64(a.CPU.Microseconds()) / a.Batches() }

// TrialsPerBatch is the fleet's CPU over the trials alone per batch, in µs,
// as the trials measure it (/proc).
func (a Attribution) TrialsPerBatch() float64 {
	return float64(SumCPU(a.Trials).Workers.Microseconds()) / a.Batches()
}

// Part is the part named name, and false when there is none.
func (a Attribution) Part(name string) (PartCPU, bool) {
	i := slices.IndexFunc(a.Parts, func(p PartCPU) bool { return p.Name == name })
	if i < 0 {
		return PartCPU{}, false
	}
	return a.Parts[i], true
}
