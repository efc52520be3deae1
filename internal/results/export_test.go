package results

import (
	"context"

	"bitqueue/internal/rdb"
)

// Waiting returns how many Saves wait for the write in flight.
func (s *Saver) Waiting() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.writing {
		return 0
	}
	return len(s.waiting)
}

// SetWrite replaces how s writes a group of batches.
func (s *Saver) SetWrite(write func(ctx context.Context, bs []rdb.Batch) error) { s.write = write }
