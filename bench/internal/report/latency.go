package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"bitqueue/bench/internal/measure"
)

// LatencyShare is the share of the reference throughput an added round-trip
// time must keep for a worker shape to count as enough for it.
const LatencyShare = 0.90

// FlatSpread is how much faster than one round trip at a time per loop the
// best shape at an added round-trip time may be for the report still to
// say that each loop takes its tasks one round trip at a time.
const FlatSpread = 1.25

// Latency is the scenario of a fleet across hosts: W workers reaching Redis
// through a latency proxy that adds a round-trip time, the producer and the
// watcher connecting directly, the pipeline run at several worker shapes
// (--loops × --concurrency) for each added round-trip time.
type Latency struct {
	Workers, Batch int
	Ints           uint64 // per trial
	Repeat         int    // trials per cell
	// Reference is the shape whose throughput through the proxy with
	// nothing added is what every cell is compared with: the worker's
	// defaults.
	Reference Shape
	Pings     int        // round trips timed for each AddedRTT.Measured
	Added     []AddedRTT // the proxy alone (0) first
	Cells     []LatencyCell
}

// Shape is how a worker of the scenario runs: its --loops and its
// --concurrency (per loop).
type Shape struct{ Loops, Concurrency int }

// String is "8 × 8": loops × concurrency.
func (s Shape) String() string { return fmt.Sprintf("%d × %d", s.Loops, s.Concurrency) }

// compare orders shapes by the tasks they may hold at once, then by loops.
func (s Shape) compare(o Shape) int {
	return cmp.Or(cmp.Compare(s.Loops*s.Concurrency, o.Loops*o.Concurrency), cmp.Compare(s.Loops, o.Loops))
}

// AddedRTT is a round-trip time the proxy adds: as asked (the half of it each
// way), and as measured: the median PING through the proxy less the median
// PING straight to Redis, the proxy's own cost included.
type AddedRTT struct {
	Nominal, Measured time.Duration
}

// LatencyCell is the trials at one added round-trip time and worker shape.
type LatencyCell struct {
	RTT time.Duration // AddedRTT.Nominal
	Shape
	Trials []measure.Trial
	// PeakConns is the most connections the fleet had open through the
	// proxy at once, over the life of the fleet (every cell of its shape).
	PeakConns int
}

// PerWorker is the cell's median throughput per worker, in integers/s.
func (c LatencyCell) PerWorker() float64 {
	t := measure.Median(c.Trials)
	return t.IntsPerSec() / float64(max(t.Workers, 1))
}

// MsPerBatch is the time a worker takes per batch in the cell's median
// trial, in ms: the workers over the fleet's batches/s.
func (c LatencyCell) MsPerBatch() float64 {
	t := measure.Median(c.Trials)
	return 1e3 * float64(t.Workers) / t.BatchesPerSec()
}

// MsPerLoopBatch is the time a loop takes per batch, in ms, when every loop
// of the shape runs (as they do on a backlog): MsPerBatch × loops.
func (c LatencyCell) MsPerLoopBatch() float64 { return c.MsPerBatch() * float64(max(c.Loops, 1)) }

// Median is the cell's median trial.
func (c LatencyCell) Median() measure.Trial { return measure.Median(c.Trials) }

// RedisCPU, WorkerCPU and BenchCPU are the cell's CPU time per batch, in
// µs, of Redis, of the workers and of the benchmark process (producer,
// watcher and the proxy).
func (c LatencyCell) RedisCPU() float64 {
	return float64(measure.SumCPU(c.Trials).Redis.Microseconds()) / measure.Batches(c.Trials)
}
func (c LatencyCell) WorkerCPU() float64 {
	return float64(measure.SumCPU(c.Trials).Workers.Microseconds()) / measure.Batches(c.Trials)
}
func (c LatencyCell) BenchCPU() float64 {
	return float64(measure.SumCPU(c.Trials).Bench.Microseconds()) / measure.Batches(c.Trials)
}

// Cell returns the cell at added round-trip time rtt and shape s.
func (l *Latency) Cell(rtt time.Duration, s Shape) (LatencyCell, bool) {
	for _, c := range l.Cells {
		if c.RTT == rtt && c.Shape == s && len(c.Trials) > 0 {
			return c, true
		}
	}
	return LatencyCell{}, false
}

// ReferencePerWorker is the reference throughput per worker: through the
// proxy, nothing added, at the reference shape; 0 when not measured.
func (l *Latency) ReferencePerWorker() float64 {
	c, ok := l.Cell(0, l.Reference)
	if !ok {
		return 0
	}
	return c.PerWorker()
}

// Share is c's throughput over the reference.
func (l *Latency) Share(c LatencyCell) float64 {
	ref := l.ReferencePerWorker()
	if ref == 0 {
		return 0
	}
	return c.PerWorker() / ref
}

// SharePercent is LatencyShare in percent.
func (*Latency) SharePercent() float64 { return 100 * LatencyShare }

// OneTripMore is the time per batch per loop, in ms, that one round trip
// at a time predicts at added round-trip time rtt: the reference's time
// per batch per worker plus the measured added round-trip time, once.
func (l *Latency) OneTripMore(rtt time.Duration) float64 {
	ref, ok := l.Cell(0, l.Reference)
	if !ok {
		return 0
	}
	return ref.MsPerBatch() + float64(l.Measured(rtt))/1e6
}

// MsPerLoopBatchEach lists, at round-trip time rtt, the time a loop takes
// per batch at each shape, as "1 × 8: 3.1 ms, 8 × 8: 3.0 ms".
func (l *Latency) MsPerLoopBatchEach(rtt time.Duration) string {
	var parts []string
	for _, c := range l.Rows() {
		if c.RTT == rtt {
			parts = append(parts, fmt.Sprintf("%s: %.2f ms", c.Shape, c.MsPerLoopBatch()))
		}
	}
	return strings.Join(parts, ", ")
}

// Rows are the cells by added round-trip time, then shape (Shape.compare).
func (l *Latency) Rows() []LatencyCell {
	rows := slices.Clone(l.Cells)
	slices.SortStableFunc(rows, func(a, b LatencyCell) int {
		return cmp.Or(cmp.Compare(a.RTT, b.RTT), a.Shape.compare(b.Shape))
	})
	return rows
}

// Measured is the measured added round-trip time of nominal rtt, 0 when not
// measured.
func (l *Latency) Measured(rtt time.Duration) time.Duration {
	for _, a := range l.Added {
		if a.Nominal == rtt {
			return a.Measured
		}
	}
	return 0
}

// LatencyNeed is the worker shape an added round-trip time needs.
type LatencyNeed struct {
	RTT AddedRTT
	// Shape is the first of the list, by Shape.compare, whose throughput
	// is at least LatencyShare of the reference; zero when none is.
	Shape Shape
	Best  LatencyCell // the cell of highest throughput at RTT
	Cells int         // shapes measured at RTT
}

// Met reports whether a shape of the list reaches LatencyShare.
func (n LatencyNeed) Met() bool { return n.Shape.Loops > 0 }

// OneAtATime reports whether the throughput at n's round-trip time is what
// one round trip at a time per loop allows: more than one shape measured,
// and the best of them within FlatSpread of the time per batch per loop
// that OneTripMore predicts, neither much faster (concurrency would have
// bought back round trips) nor much slower (see Slower).
func (l *Latency) OneAtATime(n LatencyNeed) bool {
	want := l.OneTripMore(n.RTT.Nominal)
	per := n.Best.MsPerLoopBatch()
	return n.Cells > 1 && want > 0 && per*FlatSpread >= want && per <= want*FlatSpread
}

// Slower reports whether the best shape at n's round-trip time takes more
// than FlatSpread times OneTripMore per batch per loop: its loops wait for
// something else than their dequeues' round trips (the CPU the processes
// share, or their concurrency).
func (l *Latency) Slower(n LatencyNeed) bool {
	want := l.OneTripMore(n.RTT.Nominal)
	return want > 0 && n.Best.MsPerLoopBatch() > want*FlatSpread
}

// Needs is, for each added round-trip time, the shape it needs.
func (l *Latency) Needs() []LatencyNeed {
	var out []LatencyNeed
	for _, a := range l.Added {
		n := LatencyNeed{RTT: a}
		for _, c := range l.Rows() {
			if c.RTT != a.Nominal {
				continue
			}
			if !n.Met() && l.Share(c) >= LatencyShare {
				n.Shape = c.Shape
			}
			if len(n.Best.Trials) == 0 || c.PerWorker() > n.Best.PerWorker() {
				n.Best = c
			}
			n.Cells++
		}
		out = append(out, n)
	}
	return out
}

// Shapes lists the shapes the scenario ran, by Shape.compare.
func (l *Latency) Shapes() string {
	var ss []Shape
	for _, c := range l.Cells {
		if !slices.Contains(ss, c.Shape) {
			ss = append(ss, c.Shape)
		}
	}
	slices.SortFunc(ss, Shape.compare)
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = s.String()
	}
	return strings.Join(parts, ", ")
}

// LatencySection renders the latency scenario alone, as the generated
// section shows it; empty when the run did not measure it.
func (r *Report) LatencySection() string {
	if r.Latency == nil {
		return ""
	}
	var b strings.Builder
	if err := markdown.ExecuteTemplate(&b, "latency", r.Latency); err != nil {
		panic(fmt.Sprintf("report template: %v", err))
	}
	return b.String()
}
