package runs

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"bitqueue/internal/base"
	"bitqueue/internal/input"
	"bitqueue/internal/tracing"
)

// WriteRows writes one line per integer of rec's run, in seq and row order,
// "<n>\t<bitstring>", from the run's results: row i of a batch's result is
// its integer i. It reads the results in pipelined chunks of up to 256
// batches, riding out a Redis outage of up to RedisWait. A missing result,
// or one holding another number of integers than the record says, is an
// error naming its batch; what was written before then is incomplete. When
// input is not nil, every row is also checked against it (the run's input,
// read alongside): a row that does not hold its input integer is an error.
// A deleted run is a *DeletedError.
func (s *Service) WriteRows(ctx context.Context, rec base.Record, w io.Writer, in input.Source) (err error) {
	ctx, span := s.Tracer.Start(ctx, SpanWriteRows)
	defer func() { tracing.End(span, err) }()
	return s.writeRows(ctx, rec, w, in)
}

func (s *Service) writeRows(ctx context.Context, rec base.Record, w io.Writer, in input.Source) error {
	if rec.Deleted {
		return &DeletedError{RunID: rec.RunID}
	}
	var stream input.Stream
	if in != nil {
		var err error
		if stream, err = in.Open(); err != nil {
			return err
		}
		defer stream.Close()
	}
	step := uint64(min(max(maxInFlight/max(rec.BatchSize, 1), 1), 256))
	line := make([]byte, 0, 128)
	seqs := make([]uint64, 0, step)
	want := make([]uint64, rec.BatchSize)
	left := rec.Integers
	for first := uint64(0); first < uint64(rec.Batches); first += step {
		seqs = seqs[:0]
		for seq := first; seq < min(first+step, uint64(rec.Batches)); seq++ {
			seqs = append(seqs, seq)
		}
		var rs []base.Result
		err := s.rider.Do(ctx, "read results", func() (err error) {
			rs, err = s.RDB.LoadResults(ctx, rec.RunID, seqs)
			return err
		})
		if err != nil {
			return err
		}
		for i, r := range rs {
			id := base.TaskID(rec.RunID, seqs[i])
			if stream != nil {
				n, err := readBatch(stream, want)
				if err != nil {
					return err
				}
				if r.Count != n {
					return fmt.Errorf("batch %s: result holds %d integers, input has %d", id, r.Count, n)
				}
			}
			count := int(min(left, uint64(rec.BatchSize)))
			if r.Count != count {
				return fmt.Errorf("batch %s: result holds %d integers, the run's record says %d", id, r.Count, count)
			}
			left -= uint64(count)
			for row := range r.Count {
				n := r.Row(row)
				if stream != nil && n != want[row] {
					return fmt.Errorf("batch %s: result row %d holds %d, input has %d", id, row, n, want[row])
				}
				if _, err := w.Write(appendLine(line[:0], n)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// appendLine appends "<n>\t<bits of n>\n" to line.
func appendLine(line []byte, n uint64) []byte {
	line = strconv.AppendUint(line, n, 10)
	line = append(line, '\t')
	line = strconv.AppendUint(line, n, 2)
	return append(line, '\n')
}
