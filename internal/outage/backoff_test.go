package outage_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/outage"
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
