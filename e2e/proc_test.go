package e2e

import (
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/redistest"
)

// proc is a process a test started (a worker, a scheduled producer), its
// output captured; it is killed, with its process group, when the test ends
// if it still runs.
type proc struct {
	*redistest.Process
}

// spawn starts cmd without waiting for anything.
func spawn(t *testing.T, cmd *exec.Cmd) *proc {
	t.Helper()
	return &proc{redistest.Spawn(t, cmd)}
}

// spawnBin starts the binary name (built by TestMain) with args.
func spawnBin(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	return spawn(t, exec.Command(filepath.Join(bin, name), args...))
}

// spawnUntil starts cmd and waits up to timeout until its output holds
// ready (such as "msg=serving").
func spawnUntil(t *testing.T, cmd *exec.Cmd, timeout time.Duration, ready string) *proc {
	t.Helper()
	p := spawn(t, cmd)
	redistest.WaitFor(t, timeout, cmd.Path+" to log "+ready, func() bool { return p.LogBuffer().Contains(ready) })
	return p
}

// stop sends sig and waits up to 30 s for the process to exit, returning its
// exit code.
func (p *proc) stop(t *testing.T, sig syscall.Signal) int {
	t.Helper()
	code, err := p.Stop(sig, 30*time.Second)
	require.NoError(t, err)
	return code
}

// kill SIGKILLs the process and waits for it to die.
func (p *proc) kill(t *testing.T) {
	t.Helper()
	p.Kill()
}

// alive reports whether the process still runs.
func (p *proc) alive() bool { return !p.Exited() }

// exitCode waits up to timeout for the process to exit by itself and returns
// its exit code.
func (p *proc) exitCode(t *testing.T, timeout time.Duration) int {
	t.Helper()
	code, err := p.Wait(timeout)
	require.NoError(t, err, "logs:\n%s", p.LogBuffer().Tail(40))
	return code
}

// result is what a command printed and how it exited.
type result struct {
	stdout, stderr string
	code           int
}

// runCmd runs cmd to its end (at most 5 minutes) and returns what it printed
// and its exit code.
func runCmd(t *testing.T, cmd *exec.Cmd) result {
	t.Helper()
	var stdout, stderr redistest.LogBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	p := redistest.Spawn(t, cmd)
	code, err := p.Wait(5 * time.Minute)
	require.NoError(t, err, "run %s", cmd.Path)
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// bgRun is a command running in the background, such as a producer that
// waits for its run.
type bgRun struct {
	p              *redistest.Process
	stdout, stderr *redistest.LogBuffer
}

// startBackground starts cmd without waiting for it; wait collects its
// result. It is killed if it outlives the test.
func startBackground(t *testing.T, cmd *exec.Cmd) *bgRun {
	t.Helper()
	r := &bgRun{stdout: &redistest.LogBuffer{}, stderr: &redistest.LogBuffer{}}
	cmd.Stdout, cmd.Stderr = r.stdout, r.stderr
	r.p = redistest.Spawn(t, cmd)
	return r
}

// wait returns the command's result, failing t if it has not exited within
// timeout.
func (r *bgRun) wait(t *testing.T, timeout time.Duration) result {
	t.Helper()
	code, err := r.p.Wait(timeout)
	require.NoError(t, err, "stderr:\n%s", r.stderr.Tail(40))
	return result{stdout: r.stdout.String(), stderr: r.stderr.String(), code: code}
}

// exited reports whether the command has exited.
func (r *bgRun) exited() bool { return r.p.Exited() }
