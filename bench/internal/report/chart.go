package report

import (
	"cmp"
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"bitqueue/bench/internal/measure"
)

// Chart draws the sweep of r into path (.svg or .png): integers/s against
// batch size on log scales, one solid line per worker count, its empty-handler
// ceiling dashed in the same colour, Celery at the same W (when the sweep ran
// it) dotted in the same colour, and the target and the measured peers as
// horizontal lines.
func Chart(path string, r *Report) error {
	if len(r.Sweep) == 0 {
		return fmt.Errorf("no sweep to draw")
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("bitqueue end to end: %s integers per run, %d × %s", thousands(float64(r.Opts.Count)), r.Machine.CPUs, r.Machine.Model)
	p.X.Label.Text = "batch size (integers per task)"
	p.Y.Label.Text = "integers/s, first enqueue → last result stored"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Y.Tick.Marker = millions{}
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.TextStyle.Font.Size = vg.Points(8)
	p.Add(plotter.NewGrid())

	var workers, sizes []int
	for _, c := range r.Sweep {
		if !slices.Contains(workers, c.Workers) {
			workers = append(workers, c.Workers)
		}
		if !slices.Contains(sizes, c.Batch) {
			sizes = append(sizes, c.Batch)
		}
	}
	slices.Sort(sizes)
	palette := []color.RGBA{{31, 119, 180, 255}, {214, 39, 40, 255}, {44, 160, 44, 255}, {148, 103, 189, 255}, {255, 127, 14, 255}, {140, 86, 75, 255}}
	lo, hi := math.Inf(1), 0.0
	for i, w := range workers {
		var pipe, ceil plotter.XYs
		for _, c := range r.Sweep {
			if c.Workers != w {
				continue
			}
			pipe = append(pipe, plotter.XY{X: float64(c.Batch), Y: measure.Median(c.Bits).IntsPerSec()})
			ceil = append(ceil, plotter.XY{X: float64(c.Batch), Y: measure.Median(c.Empty).IntsPerSec()})
		}
		col := palette[i%len(palette)]
		l, pts, err := plotter.NewLinePoints(pipe)
		if err != nil {
			return err
		}
		l.Color, l.Width = col, vg.Points(2)
		pts.Color, pts.Shape = col, draw.CircleGlyph{}
		p.Add(l, pts)
		p.Legend.Add(fmt.Sprintf("bitqueue, W=%d", w), l, pts)
		cl, err := plotter.NewLine(ceil)
		if err != nil {
			return err
		}
		cl.Color, cl.Width, cl.Dashes = col, vg.Points(1), []vg.Length{vg.Points(5), vg.Points(3)}
		p.Add(cl)
		p.Legend.Add(fmt.Sprintf("ceiling (empty handler), W=%d", w), cl)
		var celery plotter.XYs
		for _, pr := range r.SweepPeers {
			if pr.Workers == w {
				celery = append(celery, plotter.XY{X: float64(pr.Batch), Y: pr.IntsPerSec()})
			}
		}
		if len(celery) > 0 {
			slices.SortFunc(celery, func(a, b plotter.XY) int { return cmp.Compare(a.X, b.X) })
			pl, pp, err := plotter.NewLinePoints(celery)
			if err != nil {
				return err
			}
			pl.Color, pl.Width, pl.Dashes = col, vg.Points(1.5), []vg.Length{vg.Points(1), vg.Points(3)}
			pp.Color, pp.Shape = col, draw.TriangleGlyph{}
			p.Add(pl, pp)
			p.Legend.Add(fmt.Sprintf("Celery, W=%d, same run", w), pl, pp)
		}
		for _, xy := range append(append(pipe, ceil...), celery...) {
			lo, hi = min(lo, xy.Y), max(hi, xy.Y)
		}
	}
	x0, x1 := float64(sizes[0])/1.5, float64(sizes[len(sizes)-1])*1.5
	horizontal := func(y float64, label string, col color.RGBA, dashes []vg.Length) error {
		l, err := plotter.NewLine(plotter.XYs{{X: x0, Y: y}, {X: x1, Y: y}})
		if err != nil {
			return err
		}
		l.Color, l.Width, l.Dashes = col, vg.Points(1), dashes
		p.Add(l)
		p.Legend.Add(label, l)
		lo, hi = min(lo, y), max(hi, y)
		return nil
	}
	if err := horizontal(TargetIntsPerSec, "target: 10 M ints/s", color.RGBA{0, 0, 0, 255}, []vg.Length{vg.Points(1), vg.Points(2)}); err != nil {
		return err
	}
	grey := []color.RGBA{{110, 110, 110, 255}, {170, 170, 170, 255}}
	for i, peer := range r.Peers {
		label := fmt.Sprintf("%s (W=%d, B=%s): %s ints/s", peer.Name, peer.Workers, thousands(float64(peer.Batch)), mega(peer.IntsPerSec()))
		if err := horizontal(peer.IntsPerSec(), label, grey[i%len(grey)], []vg.Length{vg.Points(8), vg.Points(2), vg.Points(2), vg.Points(2)}); err != nil {
			return err
		}
	}
	p.X.Min, p.X.Max = x0, x1
	p.Y.Min, p.Y.Max = lo/1.5, hi*4 // room for the legend
	return p.Save(9*vg.Inch, 6*vg.Inch, path)
}

// millions marks a log axis of integers/s at powers of ten, labelled in
// millions ("0.1 M", "1 M", "10 M"), with unlabelled minor ticks between.
type millions struct{}

// Ticks returns the ticks between lo and hi.
func (millions) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	for p := math.Pow(10, math.Floor(math.Log10(lo))); p <= hi; p *= 10 {
		for m := 1.0; m < 10; m++ {
			v := m * p
			if v < lo || v > hi {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 {
				t.Label = strconv.FormatFloat(v/1e6, 'f', -1, 64) + " M"
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}
