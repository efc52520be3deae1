package redistest_test

import (
	"errors"
	"net/url"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/redistest"
)

func mustParseURL(t *testing.T, s string) struct{ Password string } {
	t.Helper()
	u, err := url.Parse(s)
	require.NoError(t, err)
	pw, _ := u.User.Password()
	return struct{ Password string }{pw}
}

func TestProcess(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		script string
		stop   func(*redistest.Process) (int, error)
		code   int
		logs   string
	}{
		{"exits by itself", "echo out; echo err >&2; exit 3", func(p *redistest.Process) (int, error) { return p.Wait(10 * time.Second) }, 3, "out\nerr\n"},
		{"SIGTERM", "trap 'echo bye; exit 0' TERM; echo ready; while :; do sleep 0.01; done", func(p *redistest.Process) (int, error) {
			redistest.WaitFor(t, 10*time.Second, "ready", func() bool { return p.LogBuffer().Contains("ready") })
			return p.Stop(syscall.SIGTERM, 10*time.Second)
		}, 0, "ready\nbye\n"},
		{"killed with its children", "sleep 60 & echo started; wait", func(p *redistest.Process) (int, error) {
			redistest.WaitFor(t, 10*time.Second, "started", func() bool { return p.LogBuffer().Contains("started") })
			p.Kill()
			return p.Wait(time.Second)
		}, -1, "started\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := redistest.Spawn(t, exec.Command("sh", "-c", tt.script))
			code, err := tt.stop(p)
			require.NoError(t, err)
			require.Equal(t, tt.code, code)
			require.Equal(t, tt.logs, p.Logs())
			require.True(t, p.Exited())
			// The whole group is gone (once init has reaped the orphans).
			redistest.WaitFor(t, 10*time.Second, "the process group gone", func() bool {
				return errors.Is(syscall.Kill(-p.Pid(), 0), syscall.ESRCH)
			})
		})
	}
}

func TestTail(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		n        int
		want     string
	}{
		{"short", "a\nb\n", 5, "a\nb"},
		{"cut", "a\nb\nc\n", 2, "... (1 lines before)\nb\nc"},
		{"empty", "", 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, redistest.Tail(tt.in, tt.n))
		})
	}
}

func TestAwait(t *testing.T) {
	t.Parallel()
	n := 0
	require.NoError(t, redistest.Await(time.Minute, "three polls", func() bool { n++; return n == 3 }))
	require.Equal(t, 3, n)
	require.EqualError(t, redistest.Await(0, "never", func() bool { return false }), "timed out after 0s waiting for never")
}
