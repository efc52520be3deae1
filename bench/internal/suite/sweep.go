package suite

import (
	"context"
	"fmt"

	"bitqueue/bench/internal/measure"
	"bitqueue/bench/internal/trial"
)

// sweepWorkers measures every batch size of the sweep on one fleet size:
// the pipeline and its ceiling, Opts.SweepRepeat trials each, interleaved.
func sweepWorkers(ctx context.Context, e *trial.Env, w int) ([]measure.Cell, error) {
	fmt.Fprintf(e.Log, "sweep: W=%d\n", w)
	qb, err := e.Queue(ctx, fmt.Sprintf("sweep%d-bits", w))
	if err != nil {
		return nil, err
	}
	qe, err := e.Queue(ctx, fmt.Sprintf("sweep%d-empty", w))
	if err != nil {
		return nil, err
	}
	fb, err := e.StartFleet(ctx, measure.KindBits, qb, w, nil)
	if err != nil {
		return nil, err
	}
	defer fb.Stop()
	fe, err := e.StartFleet(ctx, measure.KindEmpty, qe, w, nil)
	if err != nil {
		return nil, err
	}
	defer fe.Stop()
	var cells []measure.Cell
	for _, batch := range e.Opts.SweepBatches {
		if err := e.WarmUp(ctx, qb, fb, qe, fe, batch); err != nil {
			return nil, err
		}
		c := measure.Cell{Workers: w, Batch: batch}
		for range e.Opts.SweepRepeat {
			t, _, err := e.Run(ctx, measure.KindBits, qb, fb, e.Opts.Count, batch, false)
			if err != nil {
				return nil, err
			}
			c.Bits = append(c.Bits, t)
			if t, _, err = e.Run(ctx, measure.KindEmpty, qe, fe, e.Opts.Count, batch, false); err != nil {
				return nil, err
			}
			c.Empty = append(c.Empty, t)
		}
		cells = append(cells, c)
	}
	return cells, nil
}
