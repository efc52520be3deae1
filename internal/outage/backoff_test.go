package outage_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/outage"
)

func TestBackoff(t *testing.T) {
	t.Parallel()
	var b outage.Backoff
	var got []time.Duration
	for range 7 {
		got = append(got, b.Next())
	}
	ms := time.Millisecond
	require.Equal(t, []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, 1600 * ms, 2000 * ms, 2000 * ms}, got)
}
