package schedule

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"

	"bitqueue/internal/base"
	"bitqueue/internal/outage"
)

// RedisMarks keeps the marks of produced ticks in Redis, one string per tick
// at base.TickKey holding the time it was marked (RFC 3339, UTC), with its
// TTL. It rides out a Redis outage of up to Rider's bound.
type RedisMarks struct {
	Client redis.UniversalClient
	Prefix string
	Rider  *outage.Rider
	// Now tells the time written into a mark (time.Now when nil).
	Now func() time.Time
}

// Produced reports whether the mark of the tick with run id runID is there.
func (m *RedisMarks) Produced(ctx context.Context, runID string) (bool, error) {
	var n int64
	err := m.rider().Do(ctx, "read tick mark", func() (err error) {
		n, err = m.Client.Exists(ctx, base.TickKey(m.Prefix, runID)).Result()
		return err
	})
	return n > 0, err
}

// Mark sets the mark of the tick with run id runID, kept for ttl (at least a
// millisecond).
func (m *RedisMarks) Mark(ctx context.Context, runID string, ttl time.Duration) error {
	now := time.Now
	if m.Now != nil {
		now = m.Now
	}
	at := now().UTC().Format(time.RFC3339)
	return m.rider().Do(ctx, "mark tick produced", func() error {
		return m.Client.Set(ctx, base.TickKey(m.Prefix, runID), at, max(ttl, time.Millisecond)).Err()
	})
}

func (m *RedisMarks) rider() *outage.Rider {
	if m.Rider == nil {
		return outage.New(0, nil)
	}
	return m.Rider
}
