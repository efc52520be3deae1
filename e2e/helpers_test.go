package e2e

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"bitqueue/redistest"
)

// bin holds the producer, worker, exporter and demo binaries, built once by
// TestMain.
var bin string

// parallel is how many tests run at once unless -parallel says otherwise:
// most of their time goes to waiting (for processes to start, for asynq's
// leases to expire, for a sentinel to fail over), not to the CPU.
const parallel = "8"

func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		_ = flag.Set("test.parallel", parallel)
	}
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
	*redistest.Redis
	queue, prefix string
}

func setup(t *testing.T) env {
	t.Helper()
	r := redistest.Start(t)
	q, p := r.Namespace(t)
	return env{Redis: r, queue: q, prefix: p}
}

func (e env) inspector(t *testing.T) *asynq.Inspector {
	t.Helper()
	return asynq.NewInspectorFromRedisClient(e.Client)
}

// startWorker starts a worker process on e's queue and prefix and waits until
// it serves. The process is killed when the test ends if it still runs.
func startWorker(t *testing.T, e env, args ...string) *proc {
	t.Helper()
	args = append([]string{"-redis", e.URL, "-queue", e.queue, "-prefix", e.prefix, "-log-level", "debug"}, args...)
	return spawnUntil(t, exec.Command(filepath.Join(bin, "worker"), args...), 30*time.Second, "msg=serving")
}

// produce runs the producer on e's queue and prefix.
func produce(t *testing.T, e env, args ...string) result {
	t.Helper()
	return produceStdin(t, e, "", args...)
}

// produceStdin runs the producer with stdin as its standard input.
func produceStdin(t *testing.T, e env, stdin string, args ...string) result {
	t.Helper()
	args = append([]string{"-redis", e.URL, "-queue", e.queue, "-prefix", e.prefix}, args...)
	cmd := exec.Command(filepath.Join(bin, "producer"), args...)
	cmd.Stdin = strings.NewReader(stdin)
	return runCmd(t, cmd)
}
