package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/testredis"
)

// bin holds the producer, worker, exporter and demo binaries, built once by
// TestMain.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "bitqueue-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = dir
	// slowworker is the real handler behind a delay, for fault tests only.
	build := exec.Command("go", "build", "-o", dir+string(os.PathSeparator), "bitqueue/cmd/producer", "bitqueue/cmd/worker", "bitqueue/cmd/exporter", "bitqueue/cmd/demo", "bitqueue/e2e/testdata/slowworker")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build binaries:", err)
		os.Exit(1)
	}
	// Workers serve /healthz, /readyz and /metrics on a free loopback port
	// unless a test passes --http-addr, so that the many workers of the
	// tests never compete for the default :8080.
	os.Setenv("BITQUEUE_HTTP_ADDR", "127.0.0.1:0")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// env is one test's Redis, queue and key prefix.
type env struct {
	*testredis.Redis
	queue, prefix string
}

func setup(t *testing.T) env {
	t.Helper()
	r := testredis.Start(t)
	q, p := r.Namespace(t)
	return env{Redis: r, queue: q, prefix: p}
}

func (e env) inspector(t *testing.T) *asynq.Inspector {
	t.Helper()
	return asynq.NewInspectorFromRedisClient(e.Client)
}

// syncBuffer is a bytes.Buffer safe for a process to write while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proc is a worker process started by a test.
type proc struct {
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan error
}

// startWorker starts a worker process on e's queue and prefix and waits until
// it serves. The process is killed when the test ends if it still runs.
func startWorker(t *testing.T, e env, args ...string) *proc {
	t.Helper()
	args = append([]string{"-redis", e.URL, "-queue", e.queue, "-prefix", e.prefix, "-log-level", "debug"}, args...)
	p := &proc{cmd: exec.Command(filepath.Join(bin, "worker"), args...), logs: &syncBuffer{}, done: make(chan error, 1)}
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	require.NoError(t, p.cmd.Start())
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("worker %d logs:\n%s", p.cmd.Process.Pid, p.logs)
		}
	})
	waitFor(t, 30*time.Second, "worker serving", func() bool { return strings.Contains(p.logs.String(), "msg=serving") })
	return p
}

// stop sends sig and waits for the process to exit, returning its exit code.
func (p *proc) stop(t *testing.T, sig syscall.Signal) int {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(sig))
	select {
	case err := <-p.done:
		p.done <- err // for the cleanup
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		require.NoError(t, err)
		return 0
	case <-time.After(30 * time.Second):
		t.Fatalf("worker %d did not exit within 30s of %s", p.cmd.Process.Pid, sig)
		return -1
	}
}

// result is what a producer run printed and how it exited.
type result struct {
	stdout, stderr string
	code           int
}

// produce runs the producer on e's queue and prefix.
func produce(t *testing.T, e env, args ...string) result {
	t.Helper()
	return produceStdin(t, e, "", args...)
}

// produceStdin runs the producer with stdin as its standard input.
func produceStdin(t *testing.T, e env, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args = append([]string{"-redis", e.URL, "-queue", e.queue, "-prefix", e.prefix}, args...)
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "producer"), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(stdin), &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
	} else {
		require.NoError(t, err, "run producer")
	}
	return r
}

// waitFor polls cond every 20 ms until it holds, failing t after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
