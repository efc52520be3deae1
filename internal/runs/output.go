package runs

import (
	"bitqueue/internal/base"
	"context"
	"fmt"
	"io"
	"strconv"

	"bitqueue/internal/input"
	"bitqueue/internal/outage"
	"bitqueue/internal/results"
)

// WriteOut writes one line per input integer, in input order,
// "<n>\t<bitstring>", reading the bitstrings from the run's results. A result
// whose row does not hold the input integer is an error.
func (p *Producer) WriteOut(ctx context.Context, runID string, src input.Source, w io.Writer) error {
	s, err := src.Open()
	if err != nil {
		return err
	}
	defer s.Close()
	o := outage.New(p.RedisWait, p.Logger)
	line := make([]byte, 0, 128)
	buf := make([]uint64, p.BatchSize)
	for seq := uint64(0); ; seq++ {
		n, err := readBatch(s, buf)
		if err != nil || n == 0 {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		var r base.Result
		err = o.Do(ctx, "read results", func() (err error) {
			r, err = p.Store.Load(ctx, runID, seq)
			return err
		})
		if err != nil {
			return err
		}
		if r.Count != n {
			return fmt.Errorf("batch %s: result holds %d integers, input has %d", base.TaskID(runID, seq), r.Count, n)
		}
		for i, want := range buf[:n] {
			if row := r.Row(i); row != want {
				return fmt.Errorf("batch %s: result row %d holds %d, input has %d", base.TaskID(runID, seq), i, row, want)
			}
			if _, err := w.Write(appendLine(line[:0], want)); err != nil {
				return err
			}
		}
	}
}

// appendLine appends "<n>\t<bits of n>\n" to line.
func appendLine(line []byte, n uint64) []byte {
	line = strconv.AppendUint(line, n, 10)
	line = append(line, '\t')
	line = strconv.AppendUint(line, n, 2)
	return append(line, '\n')
}

// WriteResults writes one line per integer of rec's run, in seq and row
// order, "<n>\t<bitstring>", from the results alone: row i of a batch's
// result is its integer i. It reads the results in pipelined chunks and
// returns an error naming the first batch whose result is missing or holds
// another number of integers than the record says; what it wrote before
// then is incomplete.
func WriteResults(ctx context.Context, store *results.Store, rec Record, w io.Writer) error {
	if rec.State == StateDeleted {
		return &DeletedError{RunID: rec.RunID}
	}
	step := uint64(min(max(maxInFlight/max(rec.BatchSize, 1), 1), 256))
	line := make([]byte, 0, 128)
	seqs := make([]uint64, 0, step)
	left := rec.Integers
	for first := uint64(0); first < uint64(rec.Batches); first += step {
		seqs = seqs[:0]
		for seq := first; seq < min(first+step, uint64(rec.Batches)); seq++ {
			seqs = append(seqs, seq)
		}
		rs, err := store.LoadMany(ctx, rec.RunID, seqs)
		if err != nil {
			return err
		}
		for i, r := range rs {
			want := int(min(left, uint64(rec.BatchSize)))
			if r.Count != want {
				return fmt.Errorf("batch %s: result holds %d integers, the run's record says %d", base.TaskID(rec.RunID, seqs[i]), r.Count, want)
			}
			left -= uint64(want)
			for row := range r.Count {
				if _, err := w.Write(appendLine(line[:0], r.Row(row))); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
