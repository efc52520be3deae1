package metrics_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"bitqueue/fixture/promtest"
	"bitqueue/internal/metrics"
)

func TestBuildInfo(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.BuildInfo("v1.2.3", "eabbbd9c0ffee", "go1.26.0"))
	mfs := gather(t, reg)
	require.Equal(t, 1.0, promtest.Sample(t, mfs, "bitqueue_build_info", map[string]string{"version": "v1.2.3", "revision": "eabbbd9c0ffee", "goversion": "go1.26.0"}))
	problems, err := testutil.GatherAndLint(reg)
	require.NoError(t, err)
	require.Empty(t, problems)
}
