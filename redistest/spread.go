package redistest

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// RequireSpread fails t unless instants — when each of several clients
// retries, measured from a common origin — are spread rather than
// synchronised: at least three quarters of them distinct to the
// millisecond, and their standard deviation at least a tenth of nominal,
// the instant a schedule without jitter would give them all. It asserts
// no duration: only how far the instants are from one another.
func RequireSpread(t testing.TB, instants []time.Duration, nominal time.Duration) {
	t.Helper()
	require.GreaterOrEqual(t, len(instants), 2, "instants to compare")
	distinct := map[time.Duration]bool{}
	var sum float64
	for _, d := range instants {
		distinct[d.Round(time.Millisecond)] = true
		sum += float64(d)
	}
	mean := sum / float64(len(instants))
	var sq float64
	for _, d := range instants {
		sq += (float64(d) - mean) * (float64(d) - mean)
	}
	sd := time.Duration(math.Sqrt(sq / float64(len(instants)-1)))
	require.GreaterOrEqual(t, len(distinct), len(instants)*3/4, "distinct instants (to the ms) of %d clients, nominal %s: %v", len(instants), nominal, instants)
	require.GreaterOrEqual(t, sd, nominal/10, "standard deviation of %d clients' instants, nominal %s: %v", len(instants), nominal, instants)
}
