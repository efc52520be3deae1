package report

import (
	"cmp"
	_ "embed"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"text/template"
	"time"

	"bitqueue/bench/internal/capacity"
	"bitqueue/bench/internal/config"
	"bitqueue/bench/internal/measure"
)

//go:embed report.md.tmpl
var templateText string

var markdown = template.Must(template.New("report.md.tmpl").Funcs(template.FuncMap{
	"num":         func(v any) string { return thousands(float(v)) },
	"mega":        func(v any) string { return mega(float(v)) },
	"mib":         func(v any) string { return mib(float(v)) },
	"mb":          func(v any) string { return mb(float(v)) },
	"ms":          ms,
	"secs":        secs,
	"toSecond":    func(d time.Duration) time.Duration { return d.Round(time.Second) },
	"joinDur":     joinDur,
	"joinMiB":     joinMiB,
	"atLeast":     func(v, target any, unit string) string { return atLeast(float(v), float(target), unit) },
	"atMost":      func(v, target any, unit string) string { return atMost(float(v), float(target), unit) },
	"both":        both,
	"percentile":  measure.Percentile,
	"median":      measure.Median,
	"medianDur":   measure.MedianDuration,
	"mul":         func(a, b any) float64 { return float(a) * float(b) },
	"div":         func(a, b any) float64 { return float(a) / float(b) },
	"sub":         func(a, b any) float64 { return float(a) - float(b) },
	"trimProfile": trimProfile,
	"settings":    workerSettings,
	"lonePerc":    lonePerc,
	"sortedDur":   sortedDur,
	"join":        strings.Join,
}).Parse(templateText))

// Markdown renders the report as the generated section of BENCHMARKS.md,
// markers included. command is how the benchmark was run; chart, when set, is
// the path of the sweep chart, linked relative to markdownPath's directory.
func (r *Report) Markdown(command, chart, markdownPath string) string {
	v := view{Report: r, Command: command, BeginMarker: BeginMarker, EndMarker: EndMarker}
	if chart != "" {
		v.Chart = chart
		if markdownPath != "" {
			if p, err := filepath.Rel(filepath.Dir(markdownPath), chart); err == nil {
				v.Chart = p
			}
		}
		v.Chart = filepath.ToSlash(v.Chart)
	}
	var b strings.Builder
	if err := markdown.Execute(&b, v); err != nil {
		// The template is fixed and its data typed: an error is a bug in
		// this package, which the golden test catches.
		panic(fmt.Sprintf("report template: %v", err))
	}
	return b.String()
}

// view is what the template renders: the report and the figures derived
// from it.
type view struct {
	*Report
	Command                string
	Chart                  string // the chart's path relative to the Markdown file
	BeginMarker, EndMarker string
}

// Targets are the targets the template compares figures with.
func (view) Targets() map[string]any {
	return map[string]any{
		"IntsPerSec": TargetIntsPerSec, "Ratio": TargetRatio, "IdleP50": TargetIdleP50, "IdleP99": TargetIdleP99,
		"Ready": TargetReady, "RSS": TargetRSS, "Memory": TargetMemory, "Producer": TargetProducer,
		"Bare": TargetBare, "IdleCore": TargetIdleCore,
		"Utilization": ModelUtilization, "IdleFleet": ModelIdleFleet,
	}
}

// Bits and Empty are the median trials of the main configuration.
func (v view) Bits() measure.Trial  { return measure.Median(v.Main.Bits) }
func (v view) Empty() measure.Trial { return measure.Median(v.Main.Empty) }

// CPUPerBatch is the CPU time of every process per batch, in µs, over the
// trials of the main configuration of the pipeline and of the ceiling.
func (v view) CPUPerBatch() cpuRow { return v.CPURows()[3] }

// usPerBatch is d, spent over trials ts, in µs per batch.
func usPerBatch(d time.Duration, ts []measure.Trial) float64 {
	return float64(d.Microseconds()) / measure.Batches(ts)
}

// MaxReady and MaxRSS are the slowest start and the largest peak RSS of the
// main fleet.
func (v view) MaxReady() time.Duration { return slices.Max(v.Ready) }
func (v view) MaxRSS() int64           { return slices.Max(v.PeakRSS) }

// ReadyEach is each process's ready time, split into its parts when logged.
func (v view) ReadyEach() string {
	if len(v.ReadyParts) != len(v.Ready) {
		return joinDur(v.Ready)
	}
	parts := make([]string, len(v.Ready))
	for i, p := range v.ReadyParts {
		parts[i] = fmt.Sprintf("%s = %s to Serve + %s in Serve, of which %s building the cache", ms(v.Ready[i]), ms(v.Ready[i]-p[1]), ms(p[1]), ms(p[0]))
	}
	return strings.Join(parts, "; ")
}

// Bare is the median trial of a bare asynq.Server's ceiling in the main
// configuration, nil when none ran.
func (v view) Bare() *measure.Trial {
	if len(v.Main.Bare) == 0 {
		return nil
	}
	t := measure.Median(v.Main.Bare)
	return &t
}

// PeerBits is bitqueue's median trial in p's configuration, nil when the run
// measured none.
func (v view) PeerBits(p PeerRow) *measure.Trial {
	t, ok := v.Against(p)
	if !ok {
		return nil
	}
	return &t
}

// PeerTarget is the target of bitqueue's ratio to p, "—" when it has none.
func (v view) PeerTarget(p PeerRow) string {
	if t, ok := TargetCelery[p.Batch]; ok && p.Peer == "celery" {
		return fmt.Sprintf("≥ %.0f ×", t)
	}
	return "—"
}

// PeerVerdict is the verdict on bitqueue's ratio to p against its target.
func (v view) PeerVerdict(p PeerRow) string {
	r := v.PeerRatio(p)
	if r == 0 {
		return "bitqueue not measured at this W and B"
	}
	if t, ok := TargetCelery[p.Batch]; ok && p.Peer == "celery" {
		return atLeast(r, t, "times")
	}
	return ""
}

// ClusterTolerance is how far a master's Redis CPU may be from the capacity
// model's for the check to be met (issue 12), as a fraction of the model's.
const ClusterTolerance = 0.25

// clusterRow is one line of the cluster check: a master, or all of them.
type clusterRow struct {
	Name                  string
	Tasks, Results, Marks int
	Share                 float64 // batch equivalents (capacity.Trips.Share)
	CPU, Model            time.Duration
	Reads, ModelReads     float64
	Calls                 string
}

// Deviation is the measured CPU over the model's, less one.
func (r clusterRow) Deviation() float64 { return r.CPU.Seconds()/r.Model.Seconds() - 1 }

// ReadsDeviation is the requests read over the model's, less one.
func (r clusterRow) ReadsDeviation() float64 { return r.Reads/r.ModelReads - 1 }

// PerRead is the measured CPU per request read, in µs.
func (r clusterRow) PerRead() float64 { return 1e6 * r.CPU.Seconds() / max(r.Reads, 1) }

// ModelPerRead is the model's CPU per request read, in µs.
func (r clusterRow) ModelPerRead() float64 { return 1e6 * r.Model.Seconds() / max(r.ModelReads, 1) }

// Verdict says whether the row is within ClusterTolerance of the model.
func (r clusterRow) Verdict() string {
	if r.Model > 0 && math.Abs(r.Deviation()) <= ClusterTolerance {
		return "met"
	}
	return "**missed**"
}

// clusterView is the cluster check with the model applied.
type clusterView struct {
	*ClusterCheck
	Fit, Reads, PlainFit capacity.Fit
	FitErr               string
	Trips                capacity.Trips
	Rows                 []clusterRow
	All                  clusterRow
}

// Model applies the model calibrated on the one-master cluster to every
// master of the cluster run, and to all of them.
func (v view) Model() clusterView {
	c := v.Cluster
	m := clusterView{ClusterCheck: c, Trips: c.OneMaster.Trips()}
	var err error
	if m.Fit, err = c.OneMaster.Fit(); err == nil {
		m.Reads, err = capacity.FitReads(c.OneMaster.Points)
	}
	if err == nil {
		m.PlainFit, err = c.Plain.Fit()
	}
	if err != nil {
		m.FitErr = err.Error()
		return m
	}
	m.All = clusterRow{Name: "**all masters**"}
	for _, ms := range c.Masters {
		r := clusterRow{Name: ms.Addr, Tasks: ms.Tasks, Results: ms.Results, Marks: ms.Marks, Share: ms.Share(m.Trips),
			CPU: ms.CPU, Reads: float64(ms.Reads), Calls: ms.Calls(c.Total())}
		r.Model, r.ModelReads = m.Fit.Predict(c.Span, r.Share), m.Reads.Over(c.Span, r.Share)
		m.Rows = append(m.Rows, r)
		a := &m.All
		a.Tasks, a.Results, a.Marks, a.Share = a.Tasks+r.Tasks, a.Results+r.Results, a.Marks+r.Marks, a.Share+r.Share
		a.CPU, a.Model, a.Reads, a.ModelReads = a.CPU+r.CPU, a.Model+r.Model, a.Reads+r.Reads, a.ModelReads+r.ModelReads
	}
	return m
}

// Met reports whether every master and all of them are within
// ClusterTolerance of the model.
func (m clusterView) Met() bool {
	if m.FitErr != "" {
		return false
	}
	for _, r := range append([]clusterRow{m.All}, m.Rows...) {
		if r.Verdict() != "met" {
			return false
		}
	}
	return true
}

// Calibrations are the one-master cluster's runs, then the plain master's.
func (m clusterView) Calibrations() []Calibration { return []Calibration{m.OneMaster, m.Plain} }

// RowsAll are the masters' rows, then the row of all of them.
func (m clusterView) RowsAll() []clusterRow { return append(slices.Clone(m.Rows), m.All) }

// Tolerance is ClusterTolerance.
func (clusterView) Tolerance() float64 { return ClusterTolerance }

// PerMaster is the cluster run's batches per second per master.
func (m clusterView) PerMaster() float64 {
	return float64(m.Total()) / float64(len(m.Masters)) / m.Span.Seconds()
}

// ModeCost compares the one-master cluster's Redis CPU per batch with the
// plain master's at each rate both were paced at (the mean of the runs at
// that rate): what cluster mode itself costs, measured at the same load.
func (m clusterView) ModeCost() string {
	perBatch := func(c Calibration, rate float64) (float64, bool) {
		var cpu time.Duration
		n := 0
		for _, p := range c.Points {
			if p.Paced == rate {
				cpu += p.CPU
				n += p.Batches
			}
		}
		return float64(cpu.Microseconds()) / float64(max(n, 1)), n > 0
	}
	var parts []string
	seen := map[float64]bool{}
	for _, p := range m.OneMaster.Points {
		if p.Paced == 0 || seen[p.Paced] {
			continue
		}
		seen[p.Paced] = true
		one, ok1 := perBatch(m.OneMaster, p.Paced)
		plain, ok2 := perBatch(m.Plain, p.Paced)
		if ok1 && ok2 {
			parts = append(parts, fmt.Sprintf("paced at %s batches/s, %.0f against %.0f µs per batch (%+.0f %%)", thousands(p.Paced), one, plain, 100*(one/plain-1)))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "Cluster mode itself, the one-master cluster against the plain master at the same rate: " + strings.Join(parts, "; ") + "."
}

// Cause splits the deviation of each row that missed, and of all masters,
// into its two factors, both measured: the requests the master read against
// the model's (fitted the same way on the same runs), and its CPU per
// request against the model's.
func (m clusterView) Cause() string {
	var parts []string
	for _, r := range m.RowsAll() {
		if r.Verdict() == "met" && r.Name != m.All.Name {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s: %s requests read against the model's %s (%+.0f %%), %.1f µs of CPU per request against %.1f µs (%+.0f %%)",
			r.Name, thousands(r.Reads), thousands(r.ModelReads), 100*r.ReadsDeviation(), r.PerRead(), r.ModelPerRead(), 100*(r.PerRead()/r.ModelPerRead()-1)))
	}
	return "Where it is off, as requests × CPU per request: " + strings.Join(parts, "; ") + "."
}

// ProducerRSSEach lists the producer's peak RSS run by run.
func (v view) ProducerRSSEach() string {
	parts := make([]string, len(v.ProducerRSS))
	for i, p := range v.ProducerRSS {
		parts[i] = fmt.Sprintf("%s at --count %s --batch-size %s (%s)", mib(float64(p.PeakRSS)), thousands(float64(p.Count)), thousands(float64(p.Batch)), secs(p.Wall))
	}
	return strings.Join(parts, "; ")
}

// ProducerRSSSpread is the largest peak RSS of the producer over the smallest.
func (v view) ProducerRSSSpread() float64 {
	lo, hi := int64(math.MaxInt64), int64(0)
	for _, p := range v.ProducerRSS {
		lo, hi = min(lo, p.PeakRSS), max(hi, p.PeakRSS)
	}
	return float64(hi) / float64(max(lo, 1))
}

// PeerRatio is bitqueue's throughput over p's in the same configuration, 0
// when the run measured bitqueue in none.
func (v view) PeerRatio(p PeerRow) float64 {
	t, ok := v.Against(p)
	if !ok {
		return 0
	}
	return t.IntsPerSec() / p.IntsPerSec()
}

// Trials are the main configuration's trials in the order they ran
// (pipeline, ceiling and bare asynq's ceiling interleaved), then the
// anti-pattern's.
func (v view) Trials() []measure.Trial {
	var all []measure.Trial
	for i := range v.Main.Bits {
		all = append(all, v.Main.Bits[i], v.Main.Empty[i])
		if i < len(v.Main.Bare) {
			all = append(all, v.Main.Bare[i])
		}
	}
	if v.Shipped != nil {
		all = append(all, *v.Shipped)
	}
	return all
}

// cpuRow is a line of the CPU-per-batch table, in µs per batch.
type cpuRow struct {
	Name              string
	Pipeline, Ceiling float64
}

// CPURows split the main configuration's CPU time per batch by process.
func (v view) CPURows() []cpuRow { return cellCPURows(v.Main) }

// WallPerBatch is the wall time per batch times the machine's cores, in µs,
// of the pipeline and of the ceiling.
func (v view) WallPerBatch() cpuRow {
	per := func(ts []measure.Trial) float64 {
		return float64(v.Machine.CPUs) * float64(measure.SumWall(ts).Microseconds()) / measure.Batches(ts)
	}
	return cpuRow{Pipeline: per(v.Main.Bits), Ceiling: per(v.Main.Empty)}
}

// commandRow is a line of the Redis-time-per-command table, per batch.
type commandRow struct {
	Name                      string
	BitsCalls, BitsUsec       float64
	CeilingCalls, CeilingUsec float64
}

// CommandRows are the Redis commands of the main configuration, per batch,
// by time spent in the pipeline's trials (then by name), leaving out those
// called less than once per 100 batches by both kinds.
func (v view) CommandRows() []commandRow {
	sb, se := measure.Commands(v.Main.Bits), measure.Commands(v.Main.Empty)
	nb, ne := measure.Batches(v.Main.Bits), measure.Batches(v.Main.Empty)
	names := make([]string, 0, len(sb))
	for k := range sb {
		names = append(names, k)
	}
	for k := range se {
		if _, ok := sb[k]; !ok {
			names = append(names, k)
		}
	}
	slices.SortFunc(names, func(a, b string) int { return cmp.Or(cmp.Compare(sb[b].Usec, sb[a].Usec), cmp.Compare(a, b)) })
	var rows []commandRow
	for _, k := range names {
		if float64(sb[k].Calls)/nb < 0.01 && float64(se[k].Calls)/ne < 0.01 {
			continue
		}
		rows = append(rows, commandRow{k, float64(sb[k].Calls) / nb, float64(sb[k].Usec) / nb, float64(se[k].Calls) / ne, float64(se[k].Usec) / ne})
	}
	return rows
}

func workerSettings(o config.Options) string {
	var parts []string
	if o.WorkerConcurrency > 0 {
		parts = append(parts, fmt.Sprintf("--concurrency %d", o.WorkerConcurrency))
	} else {
		parts = append(parts, "default --concurrency")
	}
	if o.PollInterval > 0 {
		parts = append(parts, "--poll-interval "+o.PollInterval.String())
	} else {
		parts = append(parts, "default --poll-interval")
	}
	if len(o.WorkerFlags) > 0 {
		parts = append(parts, "`"+strings.Join(o.WorkerFlags, " ")+"`")
	}
	return strings.Join(parts, ", ") + fmt.Sprintf("; producer concurrency %d", o.ProducerConcurrency)
}

// float converts the numbers the template passes to its functions.
func float(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case uint64:
		return float64(x)
	case time.Duration:
		return float64(x)
	default:
		panic(fmt.Sprintf("report template: %T is not a number", v))
	}
}

// IdleMarkdown renders the idle fleet alone (bench --only idle): its rows of
// the Targets table, the causes of those missed, and its section.
func (r *Report) IdleMarkdown(command string) string {
	var b strings.Builder
	if err := markdown.ExecuteTemplate(&b, "idle-only", view{Report: r, Command: command}); err != nil {
		panic(fmt.Sprintf("report template: %v", err))
	}
	return b.String()
}
