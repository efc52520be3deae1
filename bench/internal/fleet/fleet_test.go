package fleet

import (
	"context"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// script is a stand-in worker: it logs as the worker does when it serves,
// then waits for SIGTERM.
func script(lines string) []string {
	return []string{"/bin/sh", "-c", "printf '" + lines + "' >&2; trap 'exit 0' TERM; while :; do sleep 0.05; done"}
}

func TestStartReadsReadyParts(t *testing.T) {
	t.Parallel()
	f, err := Start(context.Background(), "test", 2, func(int) []string {
		return script(`level=INFO msg="cache built" entries=1048576 took=4.5ms\nlevel=INFO msg=serving ready_after=7ms queues=[q]\n`)
	}, 30*time.Second)
	require.NoError(t, err)
	t.Cleanup(f.Stop)
	require.Len(t, f.Procs, 2)
	for _, p := range f.Procs {
		require.Equal(t, 4500*time.Microsecond, p.CacheBuild)
		require.Equal(t, 7*time.Millisecond, p.Serve)
		require.Positive(t, p.Ready)
		rss, err := p.PeakRSS()
		require.NoError(t, err)
		require.Positive(t, rss)
	}
	_, err = f.CPU()
	require.NoError(t, err)
	require.NoError(t, f.Alive())
}

func TestStartFailsWhenAProcessExits(t *testing.T) {
	t.Parallel()
	_, err := Start(context.Background(), "test", 1, func(int) []string {
		return []string{"/bin/sh", "-c", "echo 'level=ERROR msg=\"no redis\"' >&2; exit 3"}
	}, 30*time.Second)
	require.ErrorContains(t, err, "exited before serving")
	require.ErrorContains(t, err, "no redis")
}

func TestAliveNamesAnExitedProcess(t *testing.T) {
	t.Parallel()
	f, err := Start(context.Background(), "test", 1, func(int) []string {
		return []string{"/bin/sh", "-c", "trap 'exit 4' USR1; echo 'msg=serving' >&2; while :; do sleep 0.05; done"}
	}, 30*time.Second)
	require.NoError(t, err)
	t.Cleanup(f.Stop)
	require.NoError(t, f.Alive())
	require.NoError(t, f.Procs[0].cmd.Process.Signal(syscall.SIGUSR1))
	deadline := time.Now().Add(30 * time.Second)
	for f.Alive() == nil {
		require.True(t, time.Now().Before(deadline), "the process did not exit")
		time.Sleep(10 * time.Millisecond)
	}
	require.ErrorContains(t, f.Alive(), "exit status 4")
}

func TestProcCPU(t *testing.T) {
	t.Parallel()
	_, err := procCPU(os.Getpid())
	require.NoError(t, err)
	_, err = procCPU(-1)
	require.Error(t, err)
}

func TestLogDuration(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, line, key string
		want            time.Duration
	}{
		{"in the middle", `level=INFO msg="cache built" took=4.1ms entries=3`, "took=", 4100 * time.Microsecond},
		{"at the end", `level=INFO msg=serving ready_after=12ms`, "ready_after=", 12 * time.Millisecond},
		{"absent", `level=INFO msg=serving`, "took=", 0},
		{"not a duration", `level=INFO took=soon`, "took=", 0},
		{"only as a whole key", `level=INFO mistook=3ms`, "took=", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, logDuration(tc.line, tc.key))
		})
	}
}

func TestVmHWM(t *testing.T) {
	t.Parallel()
	rss, err := VmHWM(os.Getpid())
	require.NoError(t, err)
	require.Greater(t, rss, int64(1<<20), "a Go test binary's peak RSS is above 1 MiB")
	_, err = VmHWM(-1)
	require.Error(t, err)
}

// TestStartLeavesTracingOff starts a process with OTEL_* variables in the
// benchmark's environment: the process sees none of them, so that every
// worker measured runs with tracing off.
func TestStartLeavesTracingOff(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
	t.Setenv("OTEL_TRACES_EXPORTER", "otlp")
	t.Setenv("BITQUEUE_FLEET_CHECK", "kept")
	f, err := Start(context.Background(), "test", 1, func(int) []string {
		return []string{"/bin/sh", "-c", `echo "msg=serving otel=$(env | grep -c '^OTEL_') check=$BITQUEUE_FLEET_CHECK" >&2; trap 'exit 0' TERM; while :; do sleep 0.05; done`}
	}, 30*time.Second)
	require.NoError(t, err)
	t.Cleanup(f.Stop)
	p := f.Procs[0]
	p.mu.Lock()
	defer p.mu.Unlock()
	require.Contains(t, p.tail, "msg=serving otel=0 check=kept", "the process's environment: the benchmark's without OTEL_*")
}
