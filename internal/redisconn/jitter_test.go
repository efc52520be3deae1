package redisconn_test

import (
	"context"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/outage"
	"bitqueue/internal/rdb"
	"bitqueue/internal/redisconn"
	"bitqueue/redistest"
)

// retryIn reads the wait of each attempt that a log of Wait reports.
var retryIn = regexp.MustCompile(`attempt=(\d+) retry_in=(\S+)`)

// TestWaitSpreadsRetries starts 20 Waits at once against a Redis that is
// down, as 20 workers of a fleet start while Redis restarts, and reads from
// their logs when each plans its second and third attempts: spread, where a
// schedule without jitter has all of them try again 100 ms and 300 ms after
// their first attempt.
func TestWaitSpreadsRetries(t *testing.T) {
	t.Parallel()
	const clients = 20
	addr := closedAddr(t)
	url := "redis://" + addr + "/0"
	logs := make([]*redistest.LogBuffer, clients)
	var wg sync.WaitGroup
	for c := range clients {
		log, buf := newLogger()
		logs[c] = buf
		// One dial a ping, no retry of the command: the attempts are Wait's.
		client := redis.NewClient(&redis.Options{Addr: addr, DialerRetries: 1, MaxRetries: -1})
		t.Cleanup(func() { client.Close() })
		db := rdb.New(client, "")
		wg.Go(func() {
			// Long enough for two attempts: the first wait is at most 150 ms.
			require.Error(t, redisconn.Wait(context.Background(), db, url, time.Second, log))
		})
	}
	wg.Wait()
	second, third := make([]time.Duration, clients), make([]time.Duration, clients)
	for c, buf := range logs {
		m := retryIn.FindAllStringSubmatch(buf.String(), -1)
		require.GreaterOrEqual(t, len(m), 2, "attempts logged by Wait %d:\n%s", c, buf.String())
		require.Equal(t, []string{"1", "2"}, []string{m[0][1], m[1][1]})
		first, err := time.ParseDuration(m[0][2])
		require.NoError(t, err)
		then, err := time.ParseDuration(m[1][2])
		require.NoError(t, err)
		second[c], third[c] = first, first+then
	}
	redistest.RequireSpread(t, second, outage.FirstBackoff)
	redistest.RequireSpread(t, third, 3*outage.FirstBackoff)
}
