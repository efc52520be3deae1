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
// time must keep for a concurrency to count as enough for it.
const LatencyShare = 0.90

// FlatSpread is how much faster than one round trip at a time the best
// concurrency at an added round-trip time may be for the report still to
// say that a worker takes its tasks one round trip at a time.
const FlatSpread = 1.25

// Latency is the scenario of a fleet across hosts: W workers reaching Redis
// through a latency proxy that adds a round-trip time, the producer and the
// watcher connecting directly, the pipeline run at several worker
// concurrencies for each added round-trip time.
type Latency struct {
	Workers, Batch int
	Ints           uint64 // per trial
	Repeat         int    // trials per cell
	// Reference is the concurrency whose throughput through the proxy with
	// nothing added is what every cell is compared with.
	Reference int
	Pings     int        // round trips timed for each AddedRTT.Measured
	Added     []AddedRTT // the proxy alone (0) first
	Cells     []LatencyCell
}

// AddedRTT is a round-trip time the proxy adds: as asked (the half of it each
// way), and as measured: the median PING through the proxy less the median
// PING straight to Redis, the proxy's own cost included.
type AddedRTT struct {
	Nominal, Measured time.Duration
}

// LatencyCell is the trials at one added round-trip time and worker
// concurrency.
type LatencyCell struct {
	RTT         time.Duration // AddedRTT.Nominal
	Concurrency int
	Trials      []measure.Trial
	// PeakConns is the most connections the fleet had open through the
	// proxy at once, over the life of the fleet (every cell of its
	// concurrency).
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

// Cell returns the cell at added round-trip time rtt and concurrency conc.
func (l *Latency) Cell(rtt time.Duration, conc int) (LatencyCell, bool) {
	for _, c := range l.Cells {
		if c.RTT == rtt && c.Concurrency == conc && len(c.Trials) > 0 {
			return c, true
		}
	}
	return LatencyCell{}, false
}

// ReferencePerWorker is the reference throughput per worker: through the
// proxy, nothing added, at the reference concurrency; 0 when not measured.
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

// OneTripMore is the time per batch per worker, in ms, that one round trip
// at a time predicts at added round-trip time rtt: the reference's plus
// the measured added round-trip time, once.
func (l *Latency) OneTripMore(rtt time.Duration) float64 {
	ref, ok := l.Cell(0, l.Reference)
	if !ok {
		return 0
	}
	return ref.MsPerBatch() + float64(l.Measured(rtt))/1e6
}

// MsPerBatchEach lists, at round-trip time rtt, the time a worker takes per
// batch at each concurrency, as "8: 3.1 ms, 32: 3.0 ms".
func (l *Latency) MsPerBatchEach(rtt time.Duration) string {
	var parts []string
	for _, c := range l.Rows() {
		if c.RTT == rtt {
			parts = append(parts, fmt.Sprintf("%d: %.2f ms", c.Concurrency, c.MsPerBatch()))
		}
	}
	return strings.Join(parts, ", ")
}

// Rows are the cells by added round-trip time, then concurrency.
func (l *Latency) Rows() []LatencyCell {
	rows := slices.Clone(l.Cells)
	slices.SortStableFunc(rows, func(a, b LatencyCell) int {
		return cmp.Or(cmp.Compare(a.RTT, b.RTT), cmp.Compare(a.Concurrency, b.Concurrency))
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

// LatencyNeed is the concurrency an added round-trip time needs.
type LatencyNeed struct {
	RTT AddedRTT
	// Concurrency is the lowest of the list whose throughput is at least
	// LatencyShare of the reference; 0 when none is.
	Concurrency int
	Best        LatencyCell // the cell of highest throughput at RTT
	Cells       int         // concurrencies measured at RTT
}

// OneAtATime reports whether the throughput at n's round-trip time is what
// one round trip at a time allows, whatever the concurrency: more than one
// concurrency measured, and the best of them no more than FlatSpread
// faster per batch than OneTripMore predicts.
func (l *Latency) OneAtATime(n LatencyNeed) bool {
	want := l.OneTripMore(n.RTT.Nominal)
	return n.Cells > 1 && want > 0 && n.Best.MsPerBatch()*FlatSpread >= want
}

// Needs is, for each added round-trip time, the concurrency it needs.
func (l *Latency) Needs() []LatencyNeed {
	var out []LatencyNeed
	for _, a := range l.Added {
		n := LatencyNeed{RTT: a}
		for _, c := range l.Rows() {
			if c.RTT != a.Nominal {
				continue
			}
			if n.Concurrency == 0 && l.Share(c) >= LatencyShare {
				n.Concurrency = c.Concurrency
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

// Concurrencies lists the concurrencies the scenario ran, ascending.
func (l *Latency) Concurrencies() string {
	var cs []int
	for _, c := range l.Cells {
		if !slices.Contains(cs, c.Concurrency) {
			cs = append(cs, c.Concurrency)
		}
	}
	slices.Sort(cs)
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = fmt.Sprint(c)
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
