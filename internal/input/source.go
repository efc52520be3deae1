package input

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
)

// Source is a sequence of input integers that can be read from the start as
// many times as needed: once to validate, once to enqueue, once to write the
// results out.
type Source interface {
	// Name names the source in messages.
	Name() string
	// Open starts a new pass over the integers.
	Open() (Stream, error)
	// Identity names what the integers are, the same for the same integers
	// on every machine: "random seed=S max=M count=N" for random input,
	// "sha256:<hex>" of the bytes for a file or stdin. A run id is bound to
	// it (see runs.Fingerprint).
	Identity() (string, error)
	// Close releases what the source holds, a snapshot's copy; it is safe
	// to call more than once.
	Close() error
}

// Stream is one pass over a Source.
type Stream interface {
	// Next returns the next integer, io.EOF after the last, or an error
	// (an *Error for bad input).
	Next() (uint64, error)
	Close() error
}

// Counted is a Source that knows how many integers it holds without reading
// them: a Snapshot, which counted them as it copied them, or a random source.
type Counted interface {
	Source
	Len() uint64
}

// Count returns how many integers src holds: at once for a Counted source,
// otherwise by reading src once, checking every token. An empty input is an
// *Error.
func Count(src Source) (uint64, error) {
	if c, ok := src.(Counted); ok {
		if c.Len() == 0 {
			return 0, &Error{Source: src.Name(), Reason: "holds no integers"}
		}
		return c.Len(), nil
	}
	s, err := src.Open()
	if err != nil {
		return 0, err
	}
	defer s.Close()
	var n uint64
	for {
		_, err := s.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, err
		}
		n++
	}
	if n == 0 {
		return 0, &Error{Source: src.Name(), Reason: "holds no integers"}
	}
	return n, nil
}

func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// Random returns count integers drawn uniformly from [0, max) (max 0 counts
// as 1) by a generator
// seeded with seed: the same arguments give the same integers on every pass
// and every machine.
func Random(seed, count, max uint64) Source {
	if max == 0 {
		max = 1
	}
	return randomSource{seed, count, max}
}

type randomSource struct{ seed, count, max uint64 }

func (randomSource) Name() string { return "random" }

func (randomSource) Close() error { return nil }

// Len returns the count the source was made with: a random source knows it
// without drawing its integers.
func (r randomSource) Len() uint64 { return r.count }

func (r randomSource) Identity() (string, error) {
	return fmt.Sprintf("random seed=%d max=%d count=%d", r.seed, r.max, r.count), nil
}

func (r randomSource) Open() (Stream, error) {
	return &randomStream{rng: rand.New(rand.NewPCG(r.seed, r.seed^0x9e3779b97f4a7c15)), left: r.count, max: r.max}, nil
}

type randomStream struct {
	rng       *rand.Rand
	left, max uint64
}

func (s *randomStream) Next() (uint64, error) {
	if s.left == 0 {
		return 0, io.EOF
	}
	s.left--
	return s.rng.Uint64N(s.max), nil
}

func (s *randomStream) Close() error { return nil }
