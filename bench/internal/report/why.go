package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"bitqueue/bench/internal/measure"
)

// WhyMissed gives, for each target the run missed, its cause as this run's
// own figures show it: the cost that bounds the figure, computed from what
// was measured.
func (v view) WhyMissed() []string {
	var out []string
	add := func(s string) {
		if s != "" {
			out = append(out, s)
		}
	}
	if len(v.Main.Bits) > 0 {
		add(v.whyThroughput())
		add(v.whyShareOf("Share of the ceiling at B="+thousands(float64(v.Main.Batch)), v.Main))
		if s := v.SecondShare(); s != nil && s.Cell != nil {
			add(v.whyShareOf(fmt.Sprintf("Share of the ceiling at B=%s (the sweep's cell at W=%d)", thousands(float64(s.Batch)), s.Workers), *s.Cell))
		}
		add(v.whyBare())
	}
	add(v.whyReady())
	add(v.whyRSS())
	add(v.whyMemory())
	add(v.whyProducer())
	for _, p := range v.Peers {
		add(v.whyPeer(p))
	}
	if f := v.IdleFleet; f != nil {
		add(whyIdleCost(f))
		add(v.whyPickup(f))
		add(whyLone(f))
	}
	return out
}

func (v view) whyThroughput() string {
	b := v.Bits()
	if b.IntsPerSec() >= TargetIntsPerSec {
		return ""
	}
	rows := v.CPURows()
	all := rows[3].Pipeline
	bound := float64(v.Machine.CPUs) * 1e6 / all * float64(v.Main.Batch)
	s := fmt.Sprintf("End to end: a batch costs %.0f µs of CPU over every process (Redis %.0f, workers %.0f, benchmark %.0f), so %d cores carry at most %s ints/s at B=%s",
		all, rows[0].Pipeline, rows[1].Pipeline, rows[2].Pipeline, v.Machine.CPUs, mega(bound), thousands(float64(v.Main.Batch)))
	if len(v.Main.Empty) > 0 {
		e := v.Empty()
		if e.IntsPerSec() < TargetIntsPerSec {
			s += fmt.Sprintf("; the empty-handler ceiling itself reaches only %s ints/s (%.0f %% of the target): %s bound it",
				mega(e.IntsPerSec()), 100*e.IntsPerSec()/TargetIntsPerSec, v.ceilingScripts())
		} else {
			s += fmt.Sprintf("; the empty-handler ceiling reaches %s ints/s, so the handler and the result write (+%.0f µs of CPU per batch) are what is missing",
				mega(e.IntsPerSec()), all-rows[3].Ceiling)
		}
	}
	return s + "."
}

// ceilingScripts names what the ceiling's Redis time per batch goes to:
// asynq's scripts, counted.
func (v view) ceilingScripts() string {
	c := measure.Commands(v.Main.Empty)["evalsha"]
	n := measure.Batches(v.Main.Empty)
	return fmt.Sprintf("asynq's %.2f scripts per task (%.0f µs of Redis execution per batch, %.0f µs of Redis CPU)",
		float64(c.Calls)/n, float64(c.Usec)/n, v.CPURows()[0].Ceiling)
}

func (v view) whyBare() string {
	bare := v.Bare()
	if bare == nil || len(v.Main.Empty) == 0 || v.Empty().IntsPerSec()/bare.IntsPerSec() >= TargetBare {
		return ""
	}
	ce := v.CPUPerBatch().Ceiling
	ba := usPerBatch(measure.SumCPU(v.Main.Bare).Total(), v.Main.Bare)
	s := fmt.Sprintf("Ceiling against bare asynq: the ceiling spends %.0f µs of CPU per batch, bare asynq %.0f µs", ce, ba)
	if ce > ba {
		return s + fmt.Sprintf(": the worker's set-up costs %+.0f µs per batch.", ce-ba)
	}
	return s + fmt.Sprintf(": no more CPU per batch, so the gap is the wall time of trials on a shared machine (load average at start %s).", v.Machine.LoadAvg)
}

func (v view) whyReady() string {
	if len(v.Ready) == 0 || v.MaxReady() <= TargetReady {
		return ""
	}
	i := slices.Index(v.Ready, v.MaxReady())
	if len(v.ReadyParts) != len(v.Ready) {
		return fmt.Sprintf("Worker ready: the slowest process took %s; it logged no split of its start.", ms(v.Ready[i]))
	}
	p := v.ReadyParts[i]
	before := v.Ready[i] - p[1]
	part := "the process's start before Serve (exec, the Go runtime, flags, logging)"
	if p[1] > before {
		part = "Serve's own start (the startup hook, the Redis check, asynq's start)"
		if p[0] > p[1]-p[0] {
			part = "building the cache in the startup hook"
		}
	}
	return fmt.Sprintf("Worker ready: the slowest process took %s = %s before Serve + %s in Serve, of which %s building the cache; the largest part is %s.",
		ms(v.Ready[i]), ms(before), ms(p[1]), ms(p[0]), part)
}

func (v view) whyRSS() string {
	if len(v.PeakRSS) == 0 || v.MaxRSS() <= TargetRSS {
		return ""
	}
	return fmt.Sprintf("Worker peak RSS: %s, of which the cache is %s; the rest is the process's heap, stacks and runtime.", mib(float64(v.MaxRSS())), mib(float64(v.CacheBytes)))
}

func (v view) whyMemory() string {
	m := v.Memory
	if m.PackedBits == 0 || m.Ratio() <= TargetMemory {
		return ""
	}
	keys := m.SampleUse / max(m.SampleBits, 1)
	return fmt.Sprintf("Redis memory: the results hold %.2f × their packed bits of used_memory, of which the result keys themselves (MEMORY USAGE) are %.2f × (%s B fixed per key on %s B of bits at B=%s, which larger batches spread); the other %.2f × is Redis's own bookkeeping around them (key space, expiry, allocator).",
		m.Ratio(), keys, thousands(m.KeyOverhead()), thousands(m.SampleBits), thousands(float64(v.Opts.BatchSize)), m.Ratio()-keys)
}

func (v view) whyProducer() string {
	if len(v.Producer) == 0 {
		return ""
	}
	wall := measure.MedianDuration(v.Producer)
	if wall <= TargetProducer || len(v.ProducerCPU) == 0 {
		return ""
	}
	cpu := measure.MedianDuration(v.ProducerCPU)
	if float64(cpu) >= 0.8*float64(wall) {
		return fmt.Sprintf("Producer from a file: %s of CPU (user + system) for %s of wall time: it is CPU-bound (parsing, encoding, enqueueing).", ms(cpu), ms(wall))
	}
	return fmt.Sprintf("Producer from a file: %s of CPU for %s of wall time: %s waiting, for Redis's replies or for a core (load average at start %s).", ms(cpu), ms(wall), ms(wall-cpu), v.Machine.LoadAvg)
}

// ceilingAt is the median ceiling trial of the configuration w, b, when the
// run measured one.
func (v view) ceilingAt(w, b int) (measure.Trial, bool) {
	c, ok := v.cellWhere(w, b, func(c measure.Cell) bool { return len(c.Empty) > 0 })
	if !ok {
		return measure.Trial{}, false
	}
	return measure.Median(c.Empty), true
}

func (v view) whyPeer(p PeerRow) string {
	t, ok := TargetCelery[p.Batch]
	r := v.PeerRatio(p)
	if !ok || p.Peer != "celery" || r == 0 || r >= t {
		return ""
	}
	s := fmt.Sprintf("Celery at B=%s: ", thousands(float64(p.Batch)))
	ceil, ok := v.ceilingAt(p.Workers, p.Batch)
	if !ok {
		return s + fmt.Sprintf("no empty-handler ceiling was measured at W=%d, B=%s in this run (the sweep measures one at each of its cells), so the bound is not shown.", p.Workers, thousands(float64(p.Batch)))
	}
	x := ceil.IntsPerSec() / p.IntsPerSec()
	if x < t {
		return s + fmt.Sprintf("the empty-handler ceiling itself is only %.1f × Celery (%s against %s ints/s): asynq's per-task work bounds it, %s tasks/s whatever the handler does.",
			x, mega(ceil.IntsPerSec()), mega(p.IntsPerSec()), thousands(ceil.BatchesPerSec()))
	}
	return s + fmt.Sprintf("the empty-handler ceiling is %.1f × Celery, and bitqueue reaches %.0f %% of it: the handler and the result write.", x, 100*r/x)
}

func whyIdleCost(f *IdleFleet) string {
	if f.PerWorker() <= TargetIdleCore {
		return ""
	}
	cmds := f.IdleCommands()
	top := make([]string, 0, 4)
	for _, c := range cmds[:min(4, len(cmds))] {
		top = append(top, fmt.Sprintf("%s %.2f", c.Name, c.PerWorker))
	}
	perCall := 1e6 * f.PerWorker() / max(f.Calls(), 1e-9)
	return fmt.Sprintf("Idle worker: each sends %.2f commands/s as INFO commandstats counts them (%s), and this Redis spends %.0f µs of CPU per command counted (its CPU per worker over them): the target of %.0f µs/s allows %.2f commands/s at that cost.",
		f.Calls(), strings.Join(top, ", "), perCall, 1e6*TargetIdleCore, 1e6*TargetIdleCore/max(perCall, 1e-9))
}

func (v view) whyPickup(f *IdleFleet) string {
	if len(f.Probes) == 0 {
		return ""
	}
	p50, p99 := measure.Percentile(f.Probes, 50), measure.Percentile(f.Probes, 99)
	if p50 <= TargetIdleP50 && p99 <= TargetIdleP99 {
		return ""
	}
	slow := 0
	for _, d := range f.Probes {
		if d > TargetIdleP99 {
			slow++
		}
	}
	s := fmt.Sprintf("Idle pickup: %d of %d probes took over %s (slowest %s)", slow, len(f.Probes), ms(TargetIdleP99), ms(measure.Percentile(f.Probes, 100)))
	var causes []string
	// A woken worker polls within 1.5 × the busy interval; a probe whose
	// wake-up reached nobody waits for the fleet's next idle poll, on
	// average PollInterval / (Workers + 1) away.
	if gap := f.PollInterval / time.Duration(f.Workers+1); measure.Percentile(f.Probes, 100) >= gap/2 {
		causes = append(causes, fmt.Sprintf("a probe slower than %s, half the mean gap between the idle fleet's polls (%d workers polling every %s), was likely found by a poll, its wake-up lost", ms(gap/2), f.Workers, ms(f.PollInterval)))
	}
	if load := firstLoad(f.ProbeLoad[0], f.ProbeLoad[1]); load > float64(v.Machine.CPUs) {
		causes = append(causes, fmt.Sprintf("the machine ran at load %s → %s on %d cores, so a woken worker waited for a core", f.ProbeLoad[0], f.ProbeLoad[1], v.Machine.CPUs))
	}
	if len(causes) == 0 {
		causes = append(causes, fmt.Sprintf("the machine's load (%s → %s) stayed within its %d cores and no probe waited for a poll: the woken worker's own dequeue and handling", f.ProbeLoad[0], f.ProbeLoad[1], v.Machine.CPUs))
	}
	return s + ": " + strings.Join(causes, "; ") + "."
}

func whyLone(f *IdleFleet) string {
	if len(f.Lone) == 0 {
		return ""
	}
	worst := measure.Percentile(f.Lone, 100)
	if worst <= f.LoneBound {
		return ""
	}
	return fmt.Sprintf("Lone idle worker: its slowest pickup, %s, is %s above the pacing's bound, time the worker spent waiting for a core (load %s → %s) or for Redis.",
		ms(worst), ms(worst-f.LoneBound), f.ProbeLoad[0], f.ProbeLoad[1])
}

// firstLoad is the larger of the 1-minute load averages a and b ("1.2 3.4
// 5.6"), 0 when neither reads.
func firstLoad(a, b string) float64 {
	var out float64
	for _, s := range []string{a, b} {
		var x float64
		if _, err := fmt.Sscan(s, &x); err == nil {
			out = max(out, x)
		}
	}
	return out
}

// lonePerc is the verdict on a lone worker's slowest pickup against its
// bound.
func lonePerc(worst, bound time.Duration) string {
	if worst <= bound {
		return "within the bound"
	}
	return fmt.Sprintf("**above** the bound by %s", ms(worst-bound))
}

// sortedDur lists ds in ascending order, formatted.
func sortedDur(ds []time.Duration) string {
	s := slices.Clone(ds)
	slices.SortFunc(s, cmp.Compare)
	return joinDur(s)
}
