package e2e

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/redistest"
)

// readmeSection returns the fenced sh blocks of the README section headed
// "## <title>".
func readmeSection(t *testing.T, title string) []string {
	t.Helper()
	readme := readRepoFile(t, "README.md")
	_, section, ok := strings.Cut(readme, "\n## "+title+"\n")
	require.True(t, ok, "README.md has no section %q", title)
	if i := strings.Index(section, "\n## "); i >= 0 {
		section = section[:i]
	}
	var blocks []string
	for _, m := range regexp.MustCompile("(?s)\n```sh\n(.*?)\n```\n").FindAllStringSubmatch(section, -1) {
		blocks = append(blocks, m[1])
	}
	require.NotEmpty(t, blocks, "README.md %q has no sh block", title)
	return blocks
}

// TestREADMEFleetOnOneHost runs the sh blocks of the README's "A fleet on
// one host" verbatim with bash, against the test's Redis, so that the first
// example a newcomer pastes can never rot. The script's only prelude is a
// cd to a directory whose bin/ holds the freshly built commands; the test's
// Redis, queue and key prefix reach the commands through their environment
// variables, as a reader's REDIS_URL would. Processes the blocks start with &
// are stopped at the end, by killing the script's process group.
func TestREADMEFleetOnOneHost(t *testing.T) {
	t.Parallel()
	e := setup(t)
	blocks := readmeSection(t, "A fleet on one host")
	script := strings.Join(blocks, "\n")
	require.GreaterOrEqual(t, strings.Count(script, "bin/worker &"), 2, "the section starts a fleet of at least two workers")

	dir := t.TempDir()
	require.NoError(t, os.Symlink(bin, filepath.Join(dir, "bin")))
	stdout, err := os.Create(filepath.Join(dir, "stdout"))
	require.NoError(t, err)
	stderr, err := os.Create(filepath.Join(dir, "stderr"))
	require.NoError(t, err)
	t.Cleanup(func() { stdout.Close(); stderr.Close() })

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-e", "-c", "cd "+dir+"\n"+script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	// Files, not pipes: the workers started with & keep their output open
	// after bash exits, and Wait must not wait for them.
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.Env = append(withoutEnv(os.Environ(), "BITQUEUE_HTTP_ADDR"),
		"REDIS_URL="+e.URL, "BITQUEUE_QUEUE="+e.queue, "BITQUEUE_PREFIX="+e.prefix)
	require.NoError(t, cmd.Start())
	pgid := cmd.Process.Pid
	t.Cleanup(func() { stopGroup(t, pgid) })
	runErr := cmd.Wait()
	// A worker may still be building its cache when a short run ends: give
	// both the time to say they serve before stopping them.
	readLogs := func() string {
		b, err := os.ReadFile(stderr.Name())
		require.NoError(t, err)
		return string(b)
	}
	for deadline := time.Now().Add(30 * time.Second); strings.Count(readLogs(), "msg=serving") < 2 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	stopGroup(t, pgid)

	out, err := os.ReadFile(stdout.Name())
	require.NoError(t, err)
	logs := readLogs()
	require.NoError(t, runErr, "the README's fleet section failed:\n%s", redistest.Tail(logs, 40))
	for _, line := range []string{"0\t0\n", "5\t101\n", "99\t1100011\n"} {
		require.Contains(t, string(out), line, "the README promises `<n>\\t<bitstring>` lines")
	}
	rows := regexp.MustCompile(`(?m)^[0-9]+\t[01]+$`).FindAllString(string(out), -1)
	require.Len(t, rows, 100, "one line per input integer (beside the first run's id)")
	require.Equal(t, 2, strings.Count(logs, "msg=serving"), "both workers of the README serve:\n%s", redistest.Tail(logs, 40))
}

// withoutEnv returns env without the variable name.
func withoutEnv(env []string, name string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}

// stopGroup sends SIGTERM to process group pgid and waits for it to be gone,
// sending SIGKILL after 30 s.
func stopGroup(t *testing.T, pgid int) {
	t.Helper()
	if err := syscall.Kill(-pgid, syscall.SIGTERM); errors.Is(err, syscall.ESRCH) {
		return
	}
	deadline := time.Now().Add(30 * time.Second)
	for syscall.Kill(-pgid, 0) == nil {
		if time.Now().After(deadline) {
			t.Errorf("process group %d still runs 30s after SIGTERM: killing it", pgid)
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}
