package suite

import (
	"time"

	"bitqueue/internal/input"
)

// paced is an input that hands out its integers at most rate batches of
// batch integers a second, counted from the start of each pass: the
// producer's code path reads it as it enqueues, so a run through it enqueues
// at that rate. The pace is kept against the clock, so a late batch is not
// followed by a late run.
type paced struct {
	input.Source
	batch int
	rate  float64 // batches per second
}

// Open starts a pass whose batch k is handed out no earlier than k / rate
// after Open.
func (p paced) Open() (input.Stream, error) {
	s, err := p.Source.Open()
	if err != nil {
		return nil, err
	}
	return &pacedStream{Stream: s, batch: uint64(p.batch), every: time.Duration(float64(time.Second) / p.rate), start: time.Now()}, nil
}

type pacedStream struct {
	input.Stream
	batch uint64
	every time.Duration
	start time.Time
	read  uint64
}

func (s *pacedStream) Next() (uint64, error) {
	if s.read%s.batch == 0 {
		if wait := time.Until(s.start.Add(time.Duration(s.read/s.batch) * s.every)); wait > 0 {
			time.Sleep(wait)
		}
	}
	s.read++
	return s.Stream.Next()
}
