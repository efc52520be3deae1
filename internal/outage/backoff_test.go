package outage_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/outage"
	"bitqueue/internal/rdb"
	"bitqueue/redistest"
)

// TestBackoffBounds draws the waits of many Backoffs: each is its nominal
// delay (100 ms doubling, capped so that the most jitter makes 2 s) within
// ±50 %, and none is above MaxBackoff.
func TestBackoffBounds(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	nominal := []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, 1333 * ms, 1333 * ms, 1333 * ms, 1333 * ms}
	for range 200 {
		var b outage.Backoff
		for i, want := range nominal {
			got := b.Next()
			require.LessOrEqual(t, got, outage.MaxBackoff, "wait %d", i+1)
			require.GreaterOrEqual(t, got, time.Duration(float64(want)*(1-outage.Jitter))-ms, "wait %d", i+1)
			require.LessOrEqual(t, got, time.Duration(float64(want)*(1+outage.Jitter))+ms, "wait %d", i+1)
		}
	}
	var b outage.Backoff
	first := b.Next()
	require.GreaterOrEqual(t, first, outage.FirstBackoff/2)
	require.LessOrEqual(t, first, outage.FirstBackoff*3/2)
}

// TestBackoffJitter draws the first waits of 20 Backoffs, as 20 workers
// would after a Redis restart: they differ, spread over a good part of their
// nominal delay, where a fixed schedule gives 20 equal waits.
func TestBackoffJitter(t *testing.T) {
	t.Parallel()
	const clients = 20
	for i, nominal := range []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond} {
		waits := make([]time.Duration, clients)
		for c := range waits {
			var b outage.Backoff
			for range i + 1 {
				waits[c] = b.Next()
			}
		}
		redistest.RequireSpread(t, waits, nominal)
	}
}

// TestRidersSpreadTheirRetries starts 20 Riders at one instant against a
// Redis that is down, as a restart leaves a fleet of 20 workers, and records
// when each pings it. Without jitter their second and third attempts would
// come at the same instants, 100 ms and 300 ms after the first; with it they
// are spread. Only the spread is asserted, never a duration.
func TestRidersSpreadTheirRetries(t *testing.T) {
	t.Parallel()
	const clients, attempts = 20, 3
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close()) // nothing listens there: Redis is down

	// at[c][i] is when client c made its attempt i, from the common start.
	at := make([][]time.Duration, clients)
	start := make(chan struct{})
	var begin time.Time
	var wg sync.WaitGroup
	for c := range clients {
		client := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialerRetries: 1})
		t.Cleanup(func() { client.Close() })
		db := rdb.New(client, "")
		rider := outage.New(time.Minute, nil)
		wg.Go(func() {
			<-start
			require.NoError(t, rider.Do(context.Background(), "ping", func() error {
				at[c] = append(at[c], time.Since(begin))
				if len(at[c]) > attempts {
					return nil // enough seen: Redis is back
				}
				err := db.Ping(context.Background())
				if err == nil {
					t.Errorf("client %d: ping answered at %s, where nothing listens", c, addr)
				}
				return err
			}))
		})
	}
	begin = time.Now()
	close(start)
	wg.Wait()

	nominal := []time.Duration{0, outage.FirstBackoff, 3 * outage.FirstBackoff}
	for i := 1; i < attempts; i++ {
		instants := make([]time.Duration, clients)
		for c := range clients {
			require.Len(t, at[c], attempts+1, "attempts of client %d", c)
			instants[c] = at[c][i]
		}
		t.Logf("attempt %d: %v", i+1, instants)
		redistest.RequireSpread(t, instants, nominal[i])
	}
}
