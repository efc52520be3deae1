// Package measure holds what a benchmark measures — trials, their CPU time and
// Redis commands, the memory results cost — and the statistics read from
// them.
package measure

import (
	"time"

	"bitqueue/bench/internal/redisstat"
)

// Kinds of trial.
const (
	KindBits    = "bitqueue"       // the production worker and handler
	KindEmpty   = "empty handler"  // the ceiling
	KindShipped = "cache per task" // the anti-pattern
	KindBare    = "bare asynq"     // asynq.NewServer, defaults, empty handler
)

// Ceiling reports whether trials of kind are ceilings: an empty handler that
// stores nothing, whose batches are done once their tasks are deleted.
func Ceiling(kind string) bool { return kind == KindEmpty || kind == KindBare }

// Trial is one measured run: n integers in batches, first enqueue to last
// completion seen.
type Trial struct {
	Kind     string
	Workers  int
	Batch    int
	Ints     uint64
	Batches  int
	Wall     time.Duration // first enqueue began → last completion seen
	Enqueue  time.Duration // first enqueue began → last enqueue began
	P50, P99 time.Duration // per-batch enqueue → completion seen
	Max      time.Duration
	CPU      CPU
	Commands map[string]redisstat.CmdStat // INFO commandstats over the trial
}

// IntsPerSec is the trial's throughput in integers.
func (t Trial) IntsPerSec() float64 { return float64(t.Ints) / t.Wall.Seconds() }

// BatchesPerSec is the trial's throughput in batches (tasks).
func (t Trial) BatchesPerSec() float64 { return float64(t.Batches) / t.Wall.Seconds() }

// CPU is the CPU time spent during a trial, by process.
type CPU struct {
	Redis   time.Duration // INFO cpu (µs resolution)
	Workers time.Duration // /proc/<pid>/stat of the fleet (10 ms resolution)
	Bench   time.Duration // the benchmark process: producer and tracker
}

// Total is the CPU time of every process.
func (c CPU) Total() time.Duration { return c.Redis + c.Workers + c.Bench }

// Sub is the CPU time spent between readings c0 and c.
func (c CPU) Sub(c0 CPU) CPU {
	return CPU{Redis: c.Redis - c0.Redis, Workers: c.Workers - c0.Workers, Bench: c.Bench - c0.Bench}
}

// Cell is one configuration's repeated trials: the pipeline and its ceiling,
// and in the main cell a bare asynq.Server's ceiling.
type Cell struct {
	Workers, Batch int
	Bits, Empty    []Trial
	Bare           []Trial
}

// Median returns the trial of median wall time among ts.
func Median(ts []Trial) Trial { return median(ts, func(t Trial) time.Duration { return t.Wall }) }

// Ratio is the pipeline's median throughput over the ceiling's.
func (c Cell) Ratio() float64 {
	return Median(c.Bits).IntsPerSec() / Median(c.Empty).IntsPerSec()
}

// Commands sums the command statistics of trials.
func Commands(ts []Trial) map[string]redisstat.CmdStat {
	out := map[string]redisstat.CmdStat{}
	for _, t := range ts {
		for k, v := range t.Commands {
			s := out[k]
			s.Calls += v.Calls
			s.Usec += v.Usec
			out[k] = s
		}
	}
	return out
}

// SumCPU sums the CPU time of trials.
func SumCPU(ts []Trial) CPU {
	var c CPU
	for _, t := range ts {
		c.Redis += t.CPU.Redis
		c.Workers += t.CPU.Workers
		c.Bench += t.CPU.Bench
	}
	return c
}

// SumWall sums the wall time of trials.
func SumWall(ts []Trial) time.Duration {
	var d time.Duration
	for _, t := range ts {
		d += t.Wall
	}
	return d
}

// Batches counts the batches of trials, at least 1, to divide by.
func Batches(ts []Trial) float64 {
	n := 0
	for _, t := range ts {
		n += t.Batches
	}
	return float64(max(n, 1))
}
