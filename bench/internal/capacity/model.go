// Package capacity holds the capacity model of docs/scaling.md as the
// benchmark checks it: a Redis master's CPU while it serves a run is a fixed
// cost per second plus a cost per batch,
//
//	CPU over a run  =  F × span  +  c × batches
//
// fitted by least squares on runs of one master at several rates, and a
// batch's work shared between the masters of a cluster by where its keys
// live (its task's queue, its result key, the run's done bitmap).
package capacity

import (
	"errors"
	"time"

	"bitqueue/bench/internal/redisstat"
)

// Point is one measured run on one Redis master: the batches it served, how
// long the run lasted (CPU read before the first enqueue → after the last
// batch was seen done) and what the master spent over that span.
type Point struct {
	Paced    float64 // the rate the producer was paced at, batches/s; 0: full speed
	Batches  int
	Span     time.Duration
	CPU      time.Duration                // INFO cpu, user + system
	Reads    int64                        // INFO stats total_reads_processed: requests read from clients
	Commands map[string]redisstat.CmdStat // INFO commandstats
}

// Rate is the batches per second the run served.
func (p Point) Rate() float64 { return float64(p.Batches) / p.Span.Seconds() }

// Load is the master's CPU per second of the run, in seconds of CPU per
// second (1 is one core).
func (p Point) Load() float64 { return p.CPU.Seconds() / p.Span.Seconds() }

// PerBatch is the master's CPU per batch of the run, in µs, fixed cost
// included.
func (p Point) PerBatch() float64 { return float64(p.CPU.Microseconds()) / float64(max(p.Batches, 1)) }

// Fit is a line fitted on points: Fixed per second while a run is served,
// and PerBatch per batch, in the unit of what was fitted (seconds of CPU for
// FitPoints, requests for FitReads).
type Fit struct {
	Fixed    float64
	PerBatch float64
}

// ErrOneRate is returned by FitPoints when the points do not span two
// rates: a line through one point is not determined.
var ErrOneRate = errors.New("capacity: the points need at least two different rates")

// FitPoints fits Load = Fixed + PerBatch × Rate to points by least squares,
// Fixed in seconds of CPU per second, PerBatch in seconds of CPU per batch.
// It returns ErrOneRate when every point has the same rate.
func FitPoints(points []Point) (Fit, error) {
	return fit(points, Point.Load)
}

// FitReads fits the requests a master reads the same way: Fixed requests
// per second, PerBatch requests per batch.
func FitReads(points []Point) (Fit, error) {
	return fit(points, func(p Point) float64 { return float64(p.Reads) / p.Span.Seconds() })
}

func fit(points []Point, y func(Point) float64) (Fit, error) {
	if len(points) < 2 {
		return Fit{}, ErrOneRate
	}
	n := float64(len(points))
	var sx, sy float64
	for _, p := range points {
		sx += p.Rate()
		sy += y(p)
	}
	mx, my := sx/n, sy/n
	var sxx, sxy float64
	for _, p := range points {
		dx := p.Rate() - mx
		sxx += dx * dx
		sxy += dx * (y(p) - my)
	}
	if sxx <= 1e-9*max(mx*mx, 1) {
		return Fit{}, ErrOneRate
	}
	c := sxy / sxx
	return Fit{Fixed: my - c*mx, PerBatch: c}, nil
}

// Over is the model's total over span for batches (batch equivalents, see
// Trips.Share): Fixed × span + PerBatch × batches, in the fit's unit.
func (f Fit) Over(span time.Duration, batches float64) float64 {
	return f.Fixed*span.Seconds() + f.PerBatch*batches
}

// Predict is the CPU a master spends serving batches (batch equivalents)
// over span, by a fit of FitPoints.
func (f Fit) Predict(span time.Duration, batches float64) time.Duration {
	return time.Duration(f.Over(span, batches) * float64(time.Second))
}

// Trips are the requests a batch costs Redis, by where their keys live:
// Queue on its task's queue (asynq's enqueue, dequeue and done scripts),
// Result on its result key (the result's transaction), Done on the run's
// done bitmap (the done mark's transaction).
type Trips struct {
	Queue, Result, Done float64
}

// TripsOf counts the requests per batch of a run of batches on one master
// from its commands: every EVALSHA is a queue script, every SETBIT a done
// mark, and the other EXECs result writes.
func TripsOf(cmds map[string]redisstat.CmdStat, batches int) Trips {
	b := float64(max(batches, 1))
	evalsha := float64(cmds["evalsha"].Calls + cmds["eval"].Calls)
	setbit := float64(cmds["setbit"].Calls)
	exec := float64(cmds["exec"].Calls)
	return Trips{Queue: evalsha / b, Result: max(exec-setbit, 0) / b, Done: setbit / b}
}

// Total is the requests of one batch.
func (t Trips) Total() float64 { return t.Queue + t.Result + t.Done }

// Share is how many batches' worth of work a master does (batch
// equivalents) when it holds the queues of tasks batches, the result keys of
// results and the done marks of marks: each part weighted by its share of a
// batch's requests.
func (t Trips) Share(tasks, results, marks int) float64 {
	if t.Total() == 0 {
		return 0
	}
	return (t.Queue*float64(tasks) + t.Result*float64(results) + t.Done*float64(marks)) / t.Total()
}
