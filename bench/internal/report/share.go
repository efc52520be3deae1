package report

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"bitqueue/bench/internal/measure"
)

// The handler's share of the empty-handler ceiling at the main batch size
// and at ShareBatch, and what the workers' CPU profiles attribute to
// bitqueue's own code at each.

// cellAt is the cell of the configuration w, b with trials of the pipeline
// and of the ceiling: the main cell's, or the sweep's.
func (v view) cellAt(w, b int) (measure.Cell, bool) {
	return v.cellWhere(w, b, func(c measure.Cell) bool { return len(c.Bits) > 0 && len(c.Empty) > 0 })
}

// cellWhere is the first cell of the configuration w, b, the main cell's or
// the sweep's, that has what has asks for.
func (v view) cellWhere(w, b int, has func(measure.Cell) bool) (measure.Cell, bool) {
	for _, c := range append([]measure.Cell{v.Main}, v.Sweep...) {
		if c.Workers == w && c.Batch == b && has(c) {
			return c, true
		}
	}
	return measure.Cell{}, false
}

// secondShare is the Targets row of the share of the ceiling at ShareBatch:
// the sweep's cell at the main W, or why there is none.
type secondShare struct {
	Workers, Batch int
	Cell           *measure.Cell // nil: not run
	NotRun         string        // why, when Cell is nil
}

// Empty is the cell's median ceiling trial.
func (s secondShare) Empty() measure.Trial { return measure.Median(s.Cell.Empty) }

// SecondShare is the share of the ceiling at ShareBatch, nil when that is
// the main batch size (the main row is the one).
func (v view) SecondShare() *secondShare {
	if v.Main.Batch == ShareBatch {
		return nil
	}
	s := &secondShare{Workers: v.Main.Workers, Batch: ShareBatch}
	if c, ok := v.cellAt(s.Workers, s.Batch); ok {
		s.Cell = &c
		return s
	}
	switch {
	case !v.Opts.Sweep:
		s.NotRun = "the benchmark ran without --sweep"
	case !slices.Contains(v.Opts.SweepWorkers, s.Workers) || !slices.Contains(v.Opts.SweepBatches, s.Batch):
		s.NotRun = fmt.Sprintf("the sweep has no cell at W=%d, B=%s (--sweep-workers, --sweep-batches)", s.Workers, thousands(ShareBatch))
	default:
		s.NotRun = fmt.Sprintf("the sweep measured no cell at W=%d, B=%s", s.Workers, thousands(ShareBatch))
	}
	return s
}

// cellCPURows split a cell's CPU time per batch by process, as CPURows do
// the main configuration's.
func cellCPURows(c measure.Cell) []cpuRow {
	cb, ce := measure.SumCPU(c.Bits), measure.SumCPU(c.Empty)
	row := func(name string, b, e time.Duration) cpuRow {
		return cpuRow{name, usPerBatch(b, c.Bits), usPerBatch(e, c.Empty)}
	}
	return []cpuRow{
		row("Redis", cb.Redis, ce.Redis),
		row("worker processes", cb.Workers, ce.Workers),
		row("benchmark process (producer + watcher)", cb.Bench, ce.Bench),
		row("**all**", cb.Total(), ce.Total()),
	}
}

// attributionTable is the table of what the workers' CPU profiles attribute
// to bitqueue's own code: one column per profiled batch size.
type attributionTable struct {
	Workers int
	Batches []int
	Rows    []attributionRow
}

// attributionRow is a line of the table: its label and one cell per
// column.
type attributionRow struct {
	Name  string
	Cells []string
}

// Attributions is the table of the workers' CPU profiles, nil when none was
// taken or split.
func (v view) Attributions() *attributionTable {
	if len(v.Attribution) == 0 {
		return nil
	}
	t := &attributionTable{Workers: v.Attribution[0].Workers}
	var parts []measure.PartCPU // the rows' parts, from the first profile split
	for _, a := range v.Attribution {
		t.Batches = append(t.Batches, a.Batch)
		if parts == nil && a.Err == "" {
			parts = a.Parts
		}
	}
	if parts == nil { // every profile failed: AttributionErrors says why
		return nil
	}
	each := func(f func(a measure.Attribution) string) []string {
		cells := make([]string, len(v.Attribution))
		for i, a := range v.Attribution {
			if a.Err != "" {
				cells[i] = "—"
				continue
			}
			cells[i] = f(a)
		}
		return cells
	}
	for _, p := range parts {
		name := fmt.Sprintf("%s%s (%s)", strings.Repeat("— ", p.Depth), p.Name, p.Funcs)
		if p.Depth == 0 && p.Name == measure.PartHandler {
			name = "**" + p.Name + "** (" + p.Funcs + ")"
		}
		t.Rows = append(t.Rows, attributionRow{name, each(func(a measure.Attribution) string {
			q, _ := a.Part(p.Name)
			s := fmt.Sprintf("%.0f ± %.0f (%.0f %%)", a.PerBatch(q), a.Spread(q), 100*a.Share(q))
			if p.Name == measure.PartHandler {
				s = "**" + s + "**"
			}
			return s
		})})
	}
	t.Rows = append(t.Rows,
		attributionRow{"the workers' CPU per batch over the profiles' window, from start to stop (/proc): what the shares are of", each(func(a measure.Attribution) string {
			return fmt.Sprintf("%.0f", a.WindowPerBatch())
		})},
		attributionRow{"of which over the trials alone (/proc, as the trials measure it)", each(func(a measure.Attribution) string {
			return fmt.Sprintf("%.0f", a.TrialsPerBatch())
		})},
		attributionRow{"pipeline trials profiled", each(func(a measure.Attribution) string {
			return strconv.Itoa(len(a.Trials))
		})},
		attributionRow{"samples of the profiles (10 ms of CPU each), batches of the trials", each(func(a measure.Attribution) string {
			return fmt.Sprintf("%s, %s", thousands(float64(a.Samples())), thousands(a.Batches()))
		})},
	)
	gap := func(row int) []string {
		cells := make([]string, len(v.Attribution))
		for i, a := range v.Attribution {
			c, ok := v.cellAt(a.Workers, a.Batch)
			if !ok {
				cells[i] = "not measured in this run"
				continue
			}
			r := cellCPURows(c)[row]
			cells[i] = fmt.Sprintf("%+.0f (%.0f against %.0f)", r.Pipeline-r.Ceiling, r.Pipeline, r.Ceiling)
		}
		return cells
	}
	t.Rows = append(t.Rows,
		attributionRow{"for comparison, pipeline − ceiling: worker processes (the main configuration's trials, or the sweep's cell at the same W and B)", gap(1)},
		attributionRow{"pipeline − ceiling: all processes", gap(3)},
	)
	return t
}

// AttributionErrors are the profiles not taken, by batch size.
func (v view) AttributionErrors() []string {
	var out []string
	for _, a := range v.Attribution {
		if a.Err != "" {
			out = append(out, fmt.Sprintf("B=%s: %s", thousands(float64(a.Batch)), a.Err))
		}
	}
	return out
}

// whyShareOf explains a missed share of the ceiling in cell c: what the
// pipeline adds to the ceiling's CPU per batch, by process, the bound that
// puts on the share, and what the workers' profiles at c's batch size
// attribute to bitqueue's own code.
func (v view) whyShareOf(label string, c measure.Cell) string {
	if len(c.Bits) == 0 || len(c.Empty) == 0 || c.Ratio() >= TargetRatio {
		return ""
	}
	rows := cellCPURows(c)
	ce, p := rows[3].Ceiling, rows[3].Pipeline
	s := fmt.Sprintf("%s: the handler and the result write add %+.0f µs of CPU per batch to the ceiling's %.0f µs (Redis %+.0f, workers %+.0f, benchmark %+.0f); with every core busy the share cannot exceed %.0f/%.0f = %.0f %%.",
		label, p-ce, ce, rows[0].Pipeline-rows[0].Ceiling, rows[1].Pipeline-rows[1].Ceiling, rows[2].Pipeline-rows[2].Ceiling, ce, p, 100*ce/p)
	i := slices.IndexFunc(v.Attribution, func(a measure.Attribution) bool { return a.Batch == c.Batch })
	switch {
	case i < 0:
		return s + fmt.Sprintf(" No CPU profile of the workers at B=%s splits it (`--profile` takes them).", thousands(float64(c.Batch)))
	case v.Attribution[i].Err != "":
		return s + fmt.Sprintf(" The workers' CPU profiles at B=%s failed: %s.", thousands(float64(c.Batch)), v.Attribution[i].Err)
	}
	return s + " " + attributionSentence(v.Attribution[i], rows[1].Pipeline-rows[1].Ceiling)
}

// attributionSentence names what the profiles of a attribute to bitqueue's
// handler and its parts, largest first, against workers µs of worker CPU
// per batch over the ceiling.
func attributionSentence(a measure.Attribution, workers float64) string {
	h, _ := a.Part(measure.PartHandler)
	type named struct {
		text string
		us   float64
	}
	var parts []named
	for i, p := range a.Parts {
		if p.Depth != 1 {
			continue
		}
		n := named{fmt.Sprintf("%s %.0f µs", p.Name, a.PerBatch(p)), a.PerBatch(p)}
		if i+1 < len(a.Parts) && a.Parts[i+1].Depth == 2 {
			q := a.Parts[i+1]
			n.text += fmt.Sprintf(" (%s %.0f µs)", q.Name, a.PerBatch(q))
		}
		parts = append(parts, n)
	}
	slices.SortStableFunc(parts, func(x, y named) int { return cmp.Compare(y.us, x.us) })
	texts := make([]string, len(parts))
	for i, n := range parts {
		texts[i] = n.text
	}
	return fmt.Sprintf("The workers' CPU profiles at B=%s (%d samples) put bitqueue's handler at %.0f ± %.0f µs of worker CPU per batch, against the workers' %+.0f µs over the ceiling: %s.",
		thousands(float64(a.Batch)), a.Samples(), a.PerBatch(h), a.Spread(h), workers, strings.Join(texts, ", "))
}
