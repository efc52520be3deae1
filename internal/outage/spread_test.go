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
