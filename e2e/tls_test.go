package e2e

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/redistest"
)

// TestTLS runs the fleet over rediss:// against a redis-server that speaks
// TLS only, its certificate signed by a CA made for the test: the CA is
// given with --redis-ca or BITQUEUE_REDIS_CA; without it both commands refuse
// the server at once, and nothing ever falls back to plaintext.
func TestTLS(t *testing.T) {
	t.Parallel()
	certs := redistest.GenerateCerts(t, "127.0.0.1", "localhost")
	srv := redistest.StartServer(t, redistest.Options{TLS: certs, Password: redisPassword})
	url := "rediss://" + srv.Addr + "/0"
	nums := testNumbers(5000)

	t.Run("CA by flag and by environment", func(t *testing.T) {
		d := newDeployment(url).with("REDIS_PASSWORD=" + redisPassword)
		w1 := d.startWorker(t, "-redis-ca", certs.CA)
		w2 := d.with("BITQUEUE_REDIS_CA=" + certs.CA).startWorker(t)
		r := d.requireRun(t, nums, "-batch-size", "250", "-redis-ca", certs.CA)
		for _, w := range []*proc{w1, w2} {
			require.Equal(t, 0, w.stop(t, syscall.SIGTERM))
			requireNoPassword(t, "worker logs", w.Logs())
		}
		require.True(t, strings.Contains(w1.Logs(), `msg="batch done"`) || strings.Contains(w2.Logs(), `msg="batch done"`))
		requireNoPassword(t, "producer output", r.stderr)
	})

	t.Run("server name by flag", func(t *testing.T) {
		named := redistest.GenerateCerts(t, "redis.internal.example")
		srv := redistest.StartServer(t, redistest.Options{TLS: named})
		d := newDeployment("rediss://"+srv.Addr+"/0", "-redis-ca", named.CA, "-redis-tls-server-name", "redis.internal.example")
		d.startWorker(t)
		d.requireRun(t, nums[:500], "-batch-size", "100")
	})

	t.Run("untrusted certificate", func(t *testing.T) {
		d := newDeployment(url).with("REDIS_PASSWORD=" + redisPassword)
		w := d.spawnWorker(t, "-redis-wait", "30s")
		start := time.Now()
		require.Equal(t, 1, w.exitCode(t, 20*time.Second))
		require.Less(t, time.Since(start), 15*time.Second, "a certificate error ends the wait at once")
		require.Contains(t, w.Logs(), "not signed by a trusted CA: add the CA with --redis-ca FILE")
		require.NotContains(t, w.Logs(), "msg=serving")
		r := d.produce(t, "-count", "10", "-redis-wait", "30s")
		require.Equal(t, 1, r.code, r.stderr)
		require.Contains(t, r.stderr, "not signed by a trusted CA")
	})

	t.Run("TLS settings with a plaintext URL", func(t *testing.T) {
		d := newDeployment("redis://"+srv.Addr+"/0", "-redis-ca", certs.CA).with("REDIS_PASSWORD=" + redisPassword)
		w := d.spawnWorker(t)
		require.Equal(t, 2, w.exitCode(t, 20*time.Second), "a usage error")
		require.Contains(t, w.Logs(), "need a rediss:// URL")
		r := d.produce(t, "-count", "10")
		require.Equal(t, 2, r.code, r.stderr)
		require.Contains(t, r.stderr, "need a rediss:// URL")
	})

	t.Run("certificate verification cannot be turned off", func(t *testing.T) {
		r := newDeployment(url+"?skip_verify=true").with("REDIS_PASSWORD="+redisPassword).produce(t, "-count", "10")
		require.Equal(t, 2, r.code, r.stderr)
		require.Contains(t, r.stderr, "cannot be turned off")
	})

	t.Run("no fall back to plaintext", func(t *testing.T) {
		plain := redistest.StartServer(t, redistest.Options{})
		d := newDeployment("rediss://"+plain.Addr+"/0", "-redis-ca", certs.CA)
		w := d.spawnWorker(t, "-redis-wait", "3s")
		require.Equal(t, 1, w.exitCode(t, time.Minute))
		require.Contains(t, w.Logs(), "never answers the TLS handshake")
		require.NotContains(t, w.Logs(), "msg=serving")
		n, err := plain.ClientT(t).DBSize(context.Background()).Result()
		require.NoError(t, err)
		require.Zero(t, n, "the plaintext server holds nothing")
	})
}
