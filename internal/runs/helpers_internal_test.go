package runs

import (
	"testing"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/rdb"
	"bitqueue/redistest"
)

// newService returns a run service built from cfg on the test's Redis r,
// under a queue and key prefix of the test's own.
func newService(t *testing.T, cfg Config) (s *Service, r *redistest.Redis, queue, prefix string) {
	t.Helper()
	r = redistest.Start(t)
	queue, prefix = r.Namespace(t)
	cfg.RDB = rdb.New(r.Client, prefix)
	s, err := New(cfg)
	require.NoError(t, err)
	return s, r, queue, prefix
}
