package report

import (
	"cmp"
	"slices"
	"time"

	"bitqueue/bench/internal/measure"
	"bitqueue/bench/internal/redisstat"
)

// TargetIdleCore, of issue 12, is the most of one Redis core an idle worker
// may cost: 0.01 %, so that 1,000 idle workers stay under 10 % of a core.
// The pickup latency of a fleet that has been idle is held to
// TargetIdleP50 and TargetIdleP99.
const TargetIdleCore = 0.0001

// IdleFleet is what a fleet of idle worker processes cost a redis-server of
// its own, and how soon it picked up work: Redis's CPU with no client before
// and after the fleet (its baseline, which drifts), the fleet's commands and
// Redis's CPU over a window once the fleet settled, then single batches sent
// one at a time through the producer's code path (which wakes a few
// workers), and a lone worker's pickup of batches sent without a wake-up.
type IdleFleet struct {
	Workers int
	// The workers' pacing: their idle poll period, their busy poll period
	// and how long they stay busy after a task or a wake-up.
	PollInterval, BusyPollInterval, IdleAfter time.Duration
	Settle, Window                            time.Duration
	// BaselineBefore and BaselineAfter are Redis's CPU with no client, in
	// seconds per second, measured over Baseline each.
	BaselineBefore, BaselineAfter float64
	Baseline                      time.Duration
	// CPU is Redis's CPU over the window; WorkerCPU the fleet's own.
	CPU, WorkerCPU time.Duration
	// Added workers then join the fleet, and AddedCPU is Redis's CPU over
	// a second window of the same length with all of them.
	Added    int
	AddedCPU time.Duration
	Commands map[string]redisstat.CmdStat // INFO commandstats over the window
	Clients  string                       // connected_clients at the window's end
	// Probes are the fleet's pickup latencies: enqueue sent → result
	// seen, each batch sent after a random gap of ProbeGap[0] to
	// ProbeGap[1] after the previous one's result, the first right after
	// the window. ProbeLoad is the load average before and after them.
	Probes    []time.Duration
	ProbeGap  [2]time.Duration
	ProbeLoad [2]string
	Batch     int // integers of a probe
	// Lone are a lone idle worker's pickup latencies, batches sent by a
	// plain asynq client (no wake-up); LoneBound is the worst case its
	// pacing implies.
	Lone      []time.Duration
	LoneBound time.Duration
}

// BaselineRate is Redis's own CPU with no client, in seconds per second:
// the mean of the readings before and after the fleet.
func (f *IdleFleet) BaselineRate() float64 { return (f.BaselineBefore + f.BaselineAfter) / 2 }

// Rate is Redis's CPU with the fleet, in seconds per second.
func (f *IdleFleet) Rate() float64 { return f.CPU.Seconds() / f.Window.Seconds() }

// PerWorker is the Redis CPU one idle worker costs, in seconds per second
// (a fraction of one core): what the Added workers added to Redis's CPU,
// over them, when the run added some; otherwise PerWorkerOverBaseline. The
// difference between two fleets leaves out Redis's own CPU, which drifts
// by more than a few workers cost.
func (f *IdleFleet) PerWorker() float64 {
	if f.Added > 0 && f.AddedCPU > 0 {
		return (f.AddedCPU.Seconds()/f.Window.Seconds() - f.Rate()) / float64(f.Added)
	}
	return f.PerWorkerOverBaseline()
}

// Total is the fleet's size in the second window.
func (f *IdleFleet) Total() int { return f.Workers + f.Added }

// PerWorkerOverBaseline is the Redis CPU one idle worker costs by the first
// window alone: the CPU with the fleet less the baseline, over the workers.
func (f *IdleFleet) PerWorkerOverBaseline() float64 {
	return (f.Rate() - f.BaselineRate()) / float64(max(f.Workers, 1))
}

// WorkerRate is one idle worker process's own CPU, in seconds per second.
func (f *IdleFleet) WorkerRate() float64 {
	return f.WorkerCPU.Seconds() / f.Window.Seconds() / float64(max(f.Workers, 1))
}

// Calls is the commands per second one idle worker sends, as INFO
// commandstats counts them (commands run by a script counted too).
func (f *IdleFleet) Calls() float64 {
	var n int64
	for _, c := range f.Commands {
		n += c.Calls
	}
	return float64(n) / f.Window.Seconds() / float64(max(f.Workers, 1))
}

// idleCommand is one line of the idle fleet's command table.
type idleCommand struct {
	Name          string
	PerWorker     float64 // calls per second per worker
	UsecPerCall   float64
	ShareOfFleet  float64 // of the fleet's calls
	PerModelFleet float64 // calls per second of ModelIdleFleet such workers
}

// IdleCommands are the idle fleet's commands by calls, most first.
func (f *IdleFleet) IdleCommands() []idleCommand {
	var total int64
	names := make([]string, 0, len(f.Commands))
	for k, c := range f.Commands {
		total += c.Calls
		names = append(names, k)
	}
	slices.SortFunc(names, func(a, b string) int {
		return cmp.Or(cmp.Compare(f.Commands[b].Calls, f.Commands[a].Calls), cmp.Compare(a, b))
	})
	rows := make([]idleCommand, 0, len(names))
	per := f.Window.Seconds() * float64(max(f.Workers, 1))
	for _, k := range names {
		c := f.Commands[k]
		rows = append(rows, idleCommand{Name: k, PerWorker: float64(c.Calls) / per,
			UsecPerCall: float64(c.Usec) / float64(max(c.Calls, 1)), ShareOfFleet: float64(c.Calls) / float64(max(total, 1)),
			PerModelFleet: ModelIdleFleet * float64(c.Calls) / per})
	}
	return rows
}

// entryCommands are the commands that run others: a script's or a
// transaction's time in INFO commandstats includes the commands it runs,
// which are also counted on their own lines.
var entryCommands = map[string]bool{"evalsha": true, "eval": true, "evalsha_ro": true, "eval_ro": true,
	"fcall": true, "fcall_ro": true, "exec": true}

// entryUsec is the time Redis spent executing cmds, counting each script
// and transaction once: the entry commands' time, and the others' only when
// no entry command ran (then every command was sent on its own).
func entryUsec(cmds map[string]redisstat.CmdStat) float64 {
	var entry, all float64
	for k, c := range cmds {
		all += float64(c.Usec)
		if entryCommands[k] {
			entry += float64(c.Usec)
		}
	}
	if entry == 0 {
		return all
	}
	return entry + float64(cmds["multi"].Usec)
}

// ModelUtilization is the share of one core that the capacity model of
// docs/scaling.md keeps a Redis master under: a choice, not a measurement.
const ModelUtilization = 0.70

// ModelIdleFleet is the idle fleet the capacity model prices (1,000
// workers, issue 12's fleet).
const ModelIdleFleet = 1000

// modelInputs are the capacity model's inputs as this run measured them.
type modelInputs struct {
	CB, CE, WB float64 // µs per batch: Redis CPU, Redis execution, worker CPU
	CI         float64 // Redis CPU per idle worker, µs per second; 0: not measured
	M          float64 // Redis memory per 1 M integers, bytes; 0: not measured
	Batch      int
}

// Capacity is the capacity model's inputs from the main configuration's
// pipeline trials, its memory and the idle fleet.
func (v view) Capacity() modelInputs {
	rows := v.CPURows()
	c := modelInputs{
		CB:    rows[0].Pipeline,
		CE:    entryUsec(measure.Commands(v.Main.Bits)) / measure.Batches(v.Main.Bits),
		WB:    rows[1].Pipeline,
		Batch: v.Main.Batch,
	}
	if v.IdleFleet != nil {
		c.CI = 1e6 * v.IdleFleet.PerWorker()
	}
	if v.Memory.PackedBits > 0 {
		c.M = v.Memory.PerMillion()
	}
	return c
}

// PerMaster is the batches per second one master carries at
// ModelUtilization of a core, spending cost µs per batch, beside idle idle
// workers.
func (c modelInputs) PerMaster(cost float64, idle int) float64 {
	return max(ModelUtilization*1e6-float64(idle)*c.CI, 0) / cost
}
