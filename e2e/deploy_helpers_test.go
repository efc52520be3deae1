package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/redistest"
)

// deployment is a Redis deployment a test started itself (with a password,
// TLS, a sentinel, a cluster), as the commands reach it.
type deployment struct {
	url           string
	environ       []string // variables for both commands, such as REDIS_PASSWORD=…
	args          []string // flags for both commands, such as --redis-ca
	queue, prefix string
}

// newDeployment returns a deployment of url with a queue and key prefix of
// its own.
func newDeployment(url string, args ...string) deployment {
	var b [6]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	return deployment{url: url, args: args, queue: "deploy-" + id, prefix: "bqdeploy-" + id}
}

// with returns d with more environment variables.
func (d deployment) with(environ ...string) deployment {
	d.environ = append(append([]string(nil), d.environ...), environ...)
	return d
}

// command returns the command of binary name on d, with args after d's own.
func (d deployment) command(name string, args ...string) *exec.Cmd {
	all := append([]string{"-redis", d.url, "-queue", d.queue, "-prefix", d.prefix}, d.args...)
	cmd := exec.Command(filepath.Join(bin, name), append(all, args...)...)
	// The commands see no Redis settings of the test's own environment.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "REDIS_") && !strings.HasPrefix(kv, "BITQUEUE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, d.environ...)
	return cmd
}

// startWorker starts a worker process on d, without its HTTP server, and
// waits until it serves. The process is killed when the test ends.
func (d deployment) startWorker(t *testing.T, args ...string) *proc {
	t.Helper()
	p := d.spawnWorker(t, args...)
	redistest.WaitFor(t, time.Minute, "worker serving", func() bool { return p.LogBuffer().Contains("msg=serving") })
	return p
}

// spawnWorker starts a worker process on d without waiting for it.
func (d deployment) spawnWorker(t *testing.T, args ...string) *proc {
	t.Helper()
	args = append([]string{"-log-level", "debug", "-http-addr", "off"}, args...)
	return spawn(t, d.command("worker", args...))
}

// produce runs the producer on d.
func (d deployment) produce(t *testing.T, args ...string) result {
	t.Helper()
	return runCmd(t, d.command("producer", args...))
}

// requireRun runs the producer on d over nums, waits for every result and
// checks every output line.
func (d deployment) requireRun(t *testing.T, nums []uint64, args ...string) result {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out.tsv")
	args = append([]string{"-input", writeInput(t, nums), "-wait", "-timeout", "3m", "-out", out}, args...)
	r := d.produce(t, args...)
	require.Equal(t, 0, r.code, "producer failed: %s", r.stderr)
	checkOut(t, out, nums)
	return r
}
