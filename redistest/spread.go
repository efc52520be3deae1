package redistest

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// RequireSpread fails t unless instants — when each of several clients
// retries, measured from a common origin — are spread rather than
// synchronised: no more than half of them fall within any window of a
// twentieth of nominal, the instant a schedule without jitter would give
// them all, and their standard deviation is at least a tenth of nominal.
// Without jitter every client falls in one window. The window, rather than
// distinct instants, lets a loaded machine wake a few sleeping clients
// together without failing the test. It asserts no duration: only how far
// the instants are from one another.
func RequireSpread(t testing.TB, instants []time.Duration, nominal time.Duration) {
	t.Helper()
	require.GreaterOrEqual(t, len(instants), 2, "instants to compare")
	sorted := slices.Clone(instants)
	slices.Sort(sorted)
	window, burst := nominal/20, 0
	for i, j := 0, 0; j < len(sorted); j++ {
		for sorted[j]-sorted[i] > window {
			i++
		}
		burst = max(burst, j-i+1)
	}
	var sum float64
	for _, d := range instants {
		sum += float64(d)
	}
	mean := sum / float64(len(instants))
	var sq float64
	for _, d := range instants {
		sq += (float64(d) - mean) * (float64(d) - mean)
	}
	sd := time.Duration(math.Sqrt(sq / float64(len(instants)-1)))
	require.LessOrEqual(t, burst, len(instants)/2, "most clients of %d within %s of each other, nominal %s: %v", len(instants), window, nominal, sorted)
	require.GreaterOrEqual(t, sd, nominal/10, "standard deviation of %d clients' instants, nominal %s: %v", len(instants), nominal, sorted)
}
