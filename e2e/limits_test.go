package e2e

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/redistest"
)

// TestDeploymentsShareRedis runs two deployments on one Redis, each with its
// own queue and --prefix, the same run id in both and different integers.
// Each finds its own results under its own prefix; the results of the one
// whose workers run with --result-ttl 5s expire by themselves, so a
// forgotten run cannot grow Redis without bound, while the other's keep the
// default 24 h.
func TestDeploymentsShareRedis(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	qa, pa := r.Namespace(t)
	qb, pb := r.Namespace(t)
	a, b := env{Redis: r, queue: qa, prefix: pa}, env{Redis: r, queue: qb, prefix: pb}
	const runID, batch = "shared", 100
	startWorker(t, a, "-result-ttl", "5s")
	startWorker(t, b)
	numsA, numsB := testNumbers(1000), testNumbers(1500)[500:]
	ctx := context.Background()
	ttl := func(e env) time.Duration {
		key := e.prefix + ":result:" + runID + ":0"
		if r.Embedded != nil {
			return r.Embedded.TTL(key)
		}
		d, err := r.Client.PTTL(ctx, key).Result()
		require.NoError(t, err)
		return d
	}
	// b first, so that a's short-lived results are checked at once.
	for _, d := range []struct {
		e    env
		nums []uint64
	}{{b, numsB}, {a, numsA}} {
		out := filepath.Join(t.TempDir(), "out.tsv")
		res := produce(t, d.e, "-input", writeInput(t, d.nums), "-batch-size", strconv.Itoa(batch), "-run-id", runID, "-wait", "-timeout", "1m", "-out", out)
		require.Equal(t, 0, res.code, res.stderr)
		checkOut(t, out, d.nums)
		checkResults(t, d.e, runID, d.nums, batch)
	}
	require.Positive(t, ttl(a))
	require.LessOrEqual(t, ttl(a), 5*time.Second, "TTL with --result-ttl 5s")
	require.InDelta(t, (24 * time.Hour).Seconds(), ttl(b).Seconds(), 60, "default TTL")

	// Five seconds on, a's results are gone, every one, and b's are all
	// there.
	keysLeft := func() int64 {
		var left int64
		for seq := range len(numsA) / batch {
			n, err := r.Client.Exists(ctx, a.prefix+":result:"+runID+":"+strconv.Itoa(seq)).Result()
			require.NoError(t, err)
			left += n
		}
		return left
	}
	if r.Embedded != nil {
		r.Embedded.FastForward(6 * time.Second)
		require.Zero(t, keysLeft(), "results of the short-lived deployment left after their TTL")
	} else {
		redistest.WaitFor(t, 15*time.Second, "results with a 5 s TTL to expire", func() bool { return keysLeft() == 0 })
	}
	checkResults(t, b, runID, numsB, batch)
}
