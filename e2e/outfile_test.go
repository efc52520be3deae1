package e2e

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/fixture"
	"bitqueue/redistest"
)

// outRun is a finished run whose rows the --out tests write: its id, input
// file and rows.
type outRun struct {
	env
	id, input, rows string
}

// finishOutRun runs 95 integers in batches of 10 through a worker, to the
// end.
func finishOutRun(t *testing.T) outRun {
	t.Helper()
	e := setup(t)
	nums := testNumbers(95)
	r := outRun{env: e, id: "out-run", input: writeInput(t, nums)}
	var sb strings.Builder
	for _, n := range nums {
		fmt.Fprintf(&sb, "%d\t%b\n", n, n)
	}
	r.rows = sb.String()
	startWorker(t, e)
	res := produce(t, e, "-input", r.input, "-run-id", r.id, "-batch-size", "10", "-wait", "-timeout", "1m")
	require.Equal(t, 0, res.code, res.stderr)
	return r
}

// outCommand is a command that writes a run's rows to --out.
type outCommand struct {
	name   string
	args   func(r outRun, redisURL, out string) []string
	stdout string // what it prints on stdout besides the rows
}

// outCommands are the producer's two writers of --out: a one-shot run with
// --wait (a re-run of the finished run: nothing is enqueued, its rows are
// written) and `producer results`.
var outCommands = []outCommand{
	{
		name: "producer --wait --out",
		args: func(r outRun, redisURL, out string) []string {
			return []string{"-redis", redisURL, "-queue", r.queue, "-prefix", r.prefix, "-input", r.input, "-run-id", r.id, "-batch-size", "10", "-wait", "-timeout", "1m", "-redis-wait", "30s", "-out", out}
		},
		stdout: "out-run\n",
	},
	{
		name: "producer results --out",
		args: func(r outRun, redisURL, out string) []string {
			return []string{"results", "-redis", redisURL, "-prefix", r.prefix, "-run-id", r.id, "-redis-wait", "30s", "-out", out}
		},
	},
}

// runOut runs c writing r's rows to out.
func (c outCommand) run(t *testing.T, r outRun, out string) result {
	t.Helper()
	return runCmd(t, exec.Command(filepath.Join(bin, "producer"), c.args(r, r.URL, out)...))
}

// A FIFO, a character device and /dev/stdout given to --out are written in
// place: they stay what they are and get every row; a dangling symbolic
// link is created through. Both writers of --out behave alike. Before, each
// was replaced by a regular file (as root, --out /dev/null replaced the
// machine's /dev/null, and --out /dev/stdout the /dev/stdout link).
func TestOutSpecialFilesWrittenInPlace(t *testing.T) {
	t.Parallel()
	r := finishOutRun(t)
	for _, c := range outCommands {
		t.Run(c.name, func(t *testing.T) {
			t.Run("a FIFO", func(t *testing.T) {
				dir := t.TempDir()
				ff := filepath.Join(dir, "ff")
				require.NoError(t, syscall.Mkfifo(ff, 0o644))
				got := fixture.ReadInBackground(t, func() (io.ReadCloser, error) { return os.Open(ff) })
				res := c.run(t, r, ff)
				require.Equal(t, 0, res.code, res.stderr)
				require.Equal(t, c.stdout, res.stdout)
				fixture.RequireFileType(t, ff, fs.ModeNamedPipe)
				require.Equal(t, []string{"ff"}, fixture.DirNames(t, dir), "no temporary file")
				require.Equal(t, r.rows, got(), "the reader got every row")
			})
			t.Run("a FIFO opened by its reader later", func(t *testing.T) {
				dir := t.TempDir()
				ff := filepath.Join(dir, "ff")
				require.NoError(t, syscall.Mkfifo(ff, 0o644))
				cmd := exec.Command(filepath.Join(bin, "producer"), c.args(r, r.URL, ff)...)
				bg := startBackground(t, cmd)
				redistest.WaitFor(t, time.Minute, "the producer waiting for a reader", func() bool {
					return strings.Contains(bg.stderr.String(), `msg="waiting for a process to open --out for reading" out=`+ff)
				})
				got := fixture.ReadInBackground(t, func() (io.ReadCloser, error) { return os.Open(ff) })
				res := bg.wait(t, time.Minute)
				require.Equal(t, 0, res.code, res.stderr)
				require.Equal(t, r.rows, got(), "the reader got every row")
				fixture.RequireFileType(t, ff, fs.ModeNamedPipe)
				require.Equal(t, []string{"ff"}, fixture.DirNames(t, dir), "no temporary file")
			})
			t.Run("a character device", func(t *testing.T) {
				if os.Geteuid() != 0 {
					t.Skip("making a character device with mknod needs root")
				}
				dir := t.TempDir()
				dev := filepath.Join(dir, "mynull")
				require.NoError(t, syscall.Mknod(dev, syscall.S_IFCHR|0o666, 1<<8|3)) // c 1 3: a null device
				res := c.run(t, r, dev)
				require.Equal(t, 0, res.code, res.stderr)
				require.Equal(t, c.stdout, res.stdout)
				fixture.RequireFileType(t, dev, fs.ModeDevice|fs.ModeCharDevice)
				require.Equal(t, []string{"mynull"}, fixture.DirNames(t, dir), "no temporary file")
			})
			t.Run("a dangling symbolic link", func(t *testing.T) {
				dir := t.TempDir()
				link := filepath.Join(dir, "dang")
				require.NoError(t, os.Symlink("nothere.tsv", link))
				res := c.run(t, r, link)
				require.Equal(t, 0, res.code, res.stderr)
				dest, err := os.Readlink(link)
				require.NoError(t, err, "the link is still a link")
				require.Equal(t, "nothere.tsv", dest)
				got, err := os.ReadFile(filepath.Join(dir, "nothere.tsv"))
				require.NoError(t, err, "the file it names is created")
				require.Equal(t, r.rows, string(got))
				require.Equal(t, []string{"dang", "nothere.tsv"}, fixture.DirNames(t, dir))
			})
			// Through the process's own descriptor: the real /dev is never
			// written to.
			for _, out := range []string{"/dev/stdout", "/proc/self/fd/1"} {
				t.Run(out+" on a pipe", func(t *testing.T) {
					pr, pw, err := os.Pipe()
					require.NoError(t, err)
					defer pr.Close()
					got := fixture.ReadInBackground(t, func() (io.ReadCloser, error) { return pr, nil })
					cmd := exec.Command(filepath.Join(bin, "producer"), c.args(r, r.URL, out)...)
					var stderr redistest.LogBuffer
					cmd.Stdout, cmd.Stderr = pw, &stderr
					p := redistest.Spawn(t, cmd)
					require.NoError(t, pw.Close()) // the producer has its own copy
					code, err := p.Wait(time.Minute)
					require.NoError(t, err)
					require.Equal(t, 0, code, stderr.String())
					require.Equal(t, c.stdout+r.rows, got(), "the rows reached the pipe")
					dest, err := os.Readlink("/dev/stdout")
					require.NoError(t, err, "/dev/stdout is still a link")
					require.Equal(t, "/proc/self/fd/1", dest)
				})
			}
		})
	}
}

// `producer results --out` writes through the producer's own writer of
// --out, with the same checks first: a bad --out is refused (exit 2, naming
// it) before Redis is contacted (here there is none to contact); a symbolic
// link is followed; a replaced file keeps its mode and a new one gets 0666
// less the umask. Before, results contacted Redis first and read the whole
// run before finding a directory, gave exit 1 naming a temporary file,
// replaced links and forced 0644.
func TestOutFilesWrittenAlike(t *testing.T) {
	t.Parallel()
	r := finishOutRun(t)
	dir := t.TempDir()
	for _, c := range outCommands {
		t.Run(c.name, func(t *testing.T) {
			t.Run("checked first", func(t *testing.T) {
				for _, tc := range []struct{ out, want string }{
					{"/no/such/dir/x", "--out /no/such/dir/x: cannot create a file in its directory /no/such/dir: no such file or directory"},
					{dir, "--out " + dir + ": is a directory"},
				} {
					// No Redis listens on port 1: a command that contacted
					// it first would wait --redis-wait (30s), then exit 1.
					cmd := exec.Command(filepath.Join(bin, "producer"), c.args(r, "redis://127.0.0.1:1/0", tc.out)...)
					res := runCmd(t, cmd)
					require.Equal(t, 2, res.code, res.stderr)
					require.Equal(t, "producer: "+tc.want+"\n", res.stderr, "one line, before any log line")
					require.Empty(t, res.stdout)
				}
			})
			t.Run("a symbolic link followed, the mode kept", func(t *testing.T) {
				d := t.TempDir()
				target := filepath.Join(d, "target.tsv")
				require.NoError(t, os.WriteFile(target, []byte("old\n"), 0o600))
				link := filepath.Join(d, "link.tsv")
				require.NoError(t, os.Symlink("target.tsv", link))
				res := c.run(t, r, link)
				require.Equal(t, 0, res.code, res.stderr)
				dest, err := os.Readlink(link)
				require.NoError(t, err, "the link is still a link")
				require.Equal(t, "target.tsv", dest)
				got, err := os.ReadFile(target)
				require.NoError(t, err)
				require.Equal(t, r.rows, string(got))
				st, err := os.Stat(target)
				require.NoError(t, err)
				require.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "the replaced file's mode")
				require.Equal(t, []string{"link.tsv", "target.tsv"}, fixture.DirNames(t, d))
			})
			t.Run("a new file under the umask", func(t *testing.T) {
				out := filepath.Join(t.TempDir(), "new.tsv")
				args := append([]string{"-c", `umask 077 && exec "$0" "$@"`, filepath.Join(bin, "producer")}, c.args(r, r.URL, out)...)
				res := runCmd(t, exec.Command("/bin/sh", args...))
				require.Equal(t, 0, res.code, res.stderr)
				st, err := os.Stat(out)
				require.NoError(t, err)
				require.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "0666 less the umask 077")
			})
		})
	}
	require.Empty(t, fixture.DirNames(t, dir), "nothing created in the directory given as --out")
}

// tempFilesOf returns the temporary files of --out's file name base in dir:
// "." + base + ".tmp-" and 12 hex digits.
func tempFilesOf(t *testing.T, dir, base string) []string {
	t.Helper()
	re := regexp.MustCompile(`^\.` + regexp.QuoteMeta(base) + `\.tmp-[0-9a-f]{12}$`)
	var temps []string
	for _, name := range fixture.DirNames(t, dir) {
		if re.MatchString(name) {
			temps = append(temps, name)
		}
	}
	return temps
}

// A SIGKILLed producer leaves its temporary file beside --out; the next
// write of the same file removes it, and nothing else: not the temporary
// file of a producer still running (it holds a lock on it), nor files of
// another naming. Before, temporary files piled up.
func TestOutStaleTemporaryFilesRemoved(t *testing.T) {
	t.Parallel()
	r := finishOutRun(t)
	idle := setup(t) // no worker serves its queue: its producers wait
	dir := t.TempDir()
	out := filepath.Join(dir, "bits.tsv")
	others := []string{".bits.tsv.tmp-notours", ".other.tsv.tmp-0123456789ab"}
	for _, name := range others {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644))
	}
	waiting := func(runID string) *bgRun {
		return startBackground(t, exec.Command(filepath.Join(bin, "producer"),
			"-redis", idle.URL, "-queue", idle.queue, "-prefix", idle.prefix, "-count", "10", "-run-id", runID, "-wait", "-out", out))
	}
	temps := func(n int) []string {
		t.Helper()
		redistest.WaitFor(t, time.Minute, fmt.Sprintf("%d temporary file(s) beside --out", n), func() bool {
			return len(tempFilesOf(t, dir, "bits.tsv")) == n
		})
		return tempFilesOf(t, dir, "bits.tsv")
	}

	running := waiting("running")
	live := temps(1)
	killed := waiting("killed")
	stale := temps(2)
	killed.p.Kill()
	require.Equal(t, stale, temps(2), "a killed producer leaves its temporary file")

	res := outCommands[0].run(t, r, out)
	require.Equal(t, 0, res.code, res.stderr)
	checkOut(t, out, testNumbers(95))
	require.Equal(t, live, tempFilesOf(t, dir, "bits.tsv"), "the killed producer's temporary file is removed, the running one's kept")
	for _, name := range stale {
		if name != live[0] {
			require.Contains(t, res.stderr, `msg="removed a temporary file left by an earlier producer" file=`+filepath.Join(dir, name))
		}
	}

	// And through `producer results`, the running producer's file is kept.
	res = outCommands[1].run(t, r, out)
	require.Equal(t, 0, res.code, res.stderr)
	require.Equal(t, live, tempFilesOf(t, dir, "bits.tsv"))

	require.NoError(t, running.p.Signal(syscall.SIGTERM))
	stopped := running.wait(t, time.Minute)
	require.Equal(t, 1, stopped.code, stopped.stderr)
	require.ElementsMatch(t, append([]string{"bits.tsv"}, others...), fixture.DirNames(t, dir), "a stopped producer removes its own")
}
