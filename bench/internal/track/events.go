package track

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Events sets the server's notify-keyspace-events to the flags it had when
// created plus those a trial needs, and restores them at the end. A pipeline
// trial needs hash events ("Kh": the result's HSET), a ceiling trial generic
// ones ("Kg": asynq's DEL of the finished task). Setting only what a trial
// needs keeps the watching cost of both kinds equal: one event per batch.
type Events struct {
	c   redis.UniversalClient
	old string
	cur string
}

// NewEvents reads the server's current notify-keyspace-events.
func NewEvents(ctx context.Context, c redis.UniversalClient) (*Events, error) {
	cur, err := c.ConfigGet(ctx, "notify-keyspace-events").Result()
	if err != nil {
		return nil, fmt.Errorf("CONFIG GET notify-keyspace-events: %w", err)
	}
	old := cur["notify-keyspace-events"]
	return &Events{c: c, old: old, cur: old}, nil
}

// Set enables flags on top of the original ones.
func (e *Events) Set(ctx context.Context, flags string) error {
	want := e.old
	for _, f := range flags {
		if !strings.ContainsRune(want, f) && !(f != 'K' && f != 'E' && strings.ContainsRune(want, 'A')) {
			want += string(f)
		}
	}
	if want == e.cur {
		return nil
	}
	if err := e.c.ConfigSet(ctx, "notify-keyspace-events", want).Err(); err != nil {
		return fmt.Errorf("CONFIG SET notify-keyspace-events %s (the benchmark watches results through keyspace events): %w", want, err)
	}
	e.cur = want
	return nil
}

// Restore puts the original flags back.
func (e *Events) Restore() {
	if e.cur == e.old {
		return
	}
	if err := e.c.ConfigSet(context.Background(), "notify-keyspace-events", e.old).Err(); err != nil && !errors.Is(err, redis.ErrClosed) {
		fmt.Fprintf(os.Stderr, "bench: restore notify-keyspace-events %q: %v\n", e.old, err)
	}
}
