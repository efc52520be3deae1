package schedule

import (
	"context"
	"time"

	"bitqueue/internal/outage"
	"bitqueue/internal/rdb"
)

// RedisMarks keeps the marks of produced ticks in Redis (rdb.MarkTick): one
// string per tick holding the time it was marked, with its TTL. It rides out
// a Redis outage of up to Rider's bound.
type RedisMarks struct {
	RDB   *rdb.RDB
	Rider *outage.Rider
	// Now tells the time written into a mark (time.Now when nil).
	Now func() time.Time
}

// Produced reports whether the mark of the tick with run id runID is there.
func (m *RedisMarks) Produced(ctx context.Context, runID string) (bool, error) {
	var marked bool
	err := m.rider().Do(ctx, "read tick mark", func() (err error) {
		marked, err = m.RDB.TickMarked(ctx, runID)
		return err
	})
	return marked, err
}

// Mark sets the mark of the tick with run id runID, kept for ttl (at least a
// millisecond).
func (m *RedisMarks) Mark(ctx context.Context, runID string, ttl time.Duration) error {
	now := time.Now
	if m.Now != nil {
		now = m.Now
	}
	at := now()
	return m.rider().Do(ctx, "mark tick produced", func() error { return m.RDB.MarkTick(ctx, runID, at, ttl) })
}

func (m *RedisMarks) rider() *outage.Rider {
	if m.Rider == nil {
		return outage.New(0, nil)
	}
	return m.Rider
}
