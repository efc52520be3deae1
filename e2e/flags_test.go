package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"bitqueue/redistest"
)

// usageRun runs command (producer or worker) with args and extra
// environment variables, pointed at a Redis that does not answer so that
// nothing is ever enqueued or served, and returns its exit code and
// standard error.
func usageRun(t *testing.T, command string, env []string, args ...string) (int, string) {
	t.Helper()
	base := []string{"-redis", fmt.Sprintf("redis://127.0.0.1:%d/0", redistest.FreePortT(t)), "-redis-wait", "1s"}
	cmd := exec.Command(filepath.Join(bin, command), append(base, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader("")
	r := runCmd(t, cmd)
	return r.code, r.stderr
}

// requireUsageLine checks a usage error: exit code 2 and exactly one line on
// standard error, from the command, naming what.
func requireUsageLine(t *testing.T, command string, code int, stderr, what string) {
	t.Helper()
	require.Equal(t, 2, code, "exit code; stderr:\n%s", stderr)
	require.Equal(t, 1, strings.Count(stderr, "\n"), "one line; stderr:\n%s", stderr)
	require.True(t, strings.HasPrefix(stderr, command+": "), "stderr: %s", stderr)
	require.Contains(t, stderr, what)
}

// TestFlagsOutOfRange gives every numeric flag of the producer and the
// worker values outside its range, through the flag and through its
// environment variable: each is refused with exit 2 and one line naming it.
func TestFlagsOutOfRange(t *testing.T) {
	t.Parallel()
	count := []string{"-count", "5"}
	tests := []struct {
		command string
		env     []string
		args    []string
		what    string // the message names it
	}{
		{"producer", nil, []string{"-count", "0"}, "--count 0 out of range"},
		{"producer", nil, []string{"-count", "-1"}, "-count"},
		{"producer", nil, []string{"-count", "9223372036854775808"}, "--count 9223372036854775808 out of range"},
		{"producer", nil, []string{"-count", "18446744073709551616"}, "-count"},
		{"producer", nil, append(count, "-max", "0"), "--max 0 out of range"},
		{"producer", nil, append(count, "-max", "9223372036854775809"), "--max 9223372036854775809 out of range"},
		{"producer", nil, append(count, "-seed", "-1"), "-seed"},
		{"producer", nil, append(count, "-seed", "18446744073709551616"), "-seed"},
		{"producer", nil, append(count, "-batch-size", "0"), "--batch-size 0 out of range [1, 100000]"},
		{"producer", nil, append(count, "-batch-size", "100001"), "--batch-size 100001 out of range [1, 100000]"},
		{"producer", nil, append(count, "-batch-size", "1e3"), "-batch-size"},
		{"producer", nil, append(count, "-wait", "-timeout", "-1s"), `--timeout "-1s" must not be negative`},
		{"producer", nil, append(count, "-wait", "-timeout", "10"), "-timeout"},
		{"producer", nil, append(count, "-max-retry", "-1"), `--max-retry "-1" out of range [0, 100]`},
		{"producer", nil, append(count, "-max-retry", "101"), "--max-retry 101 out of range [0, 100]"},
		{"producer", nil, append(count, "-task-timeout", "999ms"), "--task-timeout 999ms out of range [1s, 24h]"},
		{"producer", nil, append(count, "-task-timeout", "25h"), "--task-timeout 25h out of range [1s, 24h]"},
		{"producer", nil, append(count, "-concurrency", "0"), "--concurrency 0 out of range [1, 256]"},
		{"producer", nil, append(count, "-concurrency", "257"), "--concurrency 257 out of range [1, 256]"},
		{"producer", nil, append(count, "-redis-wait", "0s"), "--redis-wait 0s must be positive"},
		{"producer", nil, append(count, "-redis-wait", "-1s"), `--redis-wait "-1s" must be positive`},
		{"producer", nil, append(count, "-shards", "0"), "--shards"},
		{"producer", nil, append(count, "-shards", "257"), "--shards"},
		{"producer", nil, append(count, "-retention", "-1s"), "--retention"},
		{"producer", nil, append(count, "-record-ttl", "0s"), "--record-ttl"},
		{"producer", []string{"BITQUEUE_BATCH_SIZE=0"}, count, "BITQUEUE_BATCH_SIZE=0 out of range [1, 100000]"},
		{"producer", []string{"BITQUEUE_BATCH_SIZE=many"}, count, "BITQUEUE_BATCH_SIZE"},
		{"producer", []string{"BITQUEUE_MAX_RETRY=101"}, count, "BITQUEUE_MAX_RETRY=101 out of range [0, 100]"},
		{"producer", []string{"BITQUEUE_TASK_TIMEOUT=0s"}, count, "BITQUEUE_TASK_TIMEOUT=0s out of range [1s, 24h]"},
		{"producer", []string{"BITQUEUE_COUNT=0"}, nil, "BITQUEUE_COUNT=0 out of range [1, 10000000000]"},
		{"producer", []string{"BITQUEUE_SHARDS=0"}, count, "BITQUEUE_SHARDS=0 out of range [1, 256]"},
		{"producer", []string{"BITQUEUE_MAX_RETRY=many"}, count, "BITQUEUE_MAX_RETRY"},

		{"worker", nil, []string{"-concurrency", "0"}, "--concurrency 0 out of range [1, 1000]"},
		{"worker", nil, []string{"-concurrency", "1001"}, "--concurrency 1001 out of range [1, 1000]"},
		{"worker", nil, []string{"-cache-bits", "0"}, "--cache-bits 0 out of range"},
		{"worker", nil, []string{"-cache-bits", "29"}, "--cache-bits 29 out of range"},
		{"worker", nil, []string{"-result-ttl", "999ms"}, "--result-ttl 999ms must be at least 1s"},
		{"worker", nil, []string{"-result-ttl", "-1h"}, `--result-ttl "-1h" must be at least 1s`},
		{"worker", nil, []string{"-shutdown-timeout", "0s"}, "--shutdown-timeout 0s must be positive"},
		{"worker", nil, []string{"-redis-wait", "0s"}, "--redis-wait 0s must be positive"},
		{"worker", nil, []string{"-poll-interval", "999us"}, "--poll-interval 999us out of range [1ms, 1m]"},
		{"worker", nil, []string{"-poll-interval", "61s"}, "--poll-interval 61s out of range [1ms, 1m]"},
		{"worker", nil, []string{"-shards", "0"}, "--shards"},
		{"worker", []string{"BITQUEUE_CONCURRENCY=0"}, nil, "BITQUEUE_CONCURRENCY=0 out of range [1, 1000]"},
		{"worker", []string{"BITQUEUE_CACHE_BITS=twenty"}, nil, "BITQUEUE_CACHE_BITS"},
		{"worker", []string{"BITQUEUE_RESULT_TTL=0s"}, nil, "BITQUEUE_RESULT_TTL=0s must be at least 1s"},
		{"worker", []string{"BITQUEUE_SHARDS=0"}, nil, "BITQUEUE_SHARDS=0 out of range [1, 256]"},
		{"worker", []string{"BITQUEUE_CACHE_BITS=twenty"}, nil, "BITQUEUE_CACHE_BITS=twenty (for --cache-bits): want a whole number from 1 to 28"},
		{"producer", nil, []string{"-count", "-5"}, `--count "-5": want a whole number`},
	}
	for _, tt := range tests {
		t.Run(tt.command+" "+strings.Join(append(tt.env, tt.args...), " "), func(t *testing.T) {
			t.Parallel()
			code, stderr := usageRun(t, tt.command, tt.env, tt.args...)
			requireUsageLine(t, tt.command, code, stderr, tt.what)
		})
	}
}

// helpFlagRE matches a flag and its value's type in -h output.
var helpFlagRE = regexp.MustCompile(`(?m)^  --([a-z0-9-]+) (int|uint|duration)$`)

// TestNumericFlagsRefuseNegatives reads every numeric flag from the
// producer's and the worker's -h, so that a flag added later is covered too,
// and gives it -1: each must be refused with exit 2 and one line naming it.
func TestNumericFlagsRefuseNegatives(t *testing.T) {
	t.Parallel()
	for _, command := range []string{"producer", "worker"} {
		out, err := exec.Command(filepath.Join(bin, command), "-h").Output()
		require.NoError(t, err, "%s -h", command)
		flags := helpFlagRE.FindAllStringSubmatch(string(out), -1)
		require.GreaterOrEqual(t, len(flags), 5, "numeric flags of %s in:\n%s", command, out)
		for _, f := range flags {
			name, kind := f[1], f[2]
			t.Run(command+" --"+name, func(t *testing.T) {
				t.Parallel()
				value := "-1"
				if kind == "duration" {
					value = "-1s"
				}
				args := []string{"-" + name, value}
				if command == "producer" && name != "count" {
					args = append([]string{"-count", "5", "-wait"}, args...)
				}
				code, stderr := usageRun(t, command, nil, args...)
				requireUsageLine(t, command, code, stderr, name)
			})
		}
	}
}

// TestUsageErrorsAreOneLine checks the other ways to call the commands
// wrong: unknown flags, stray arguments, conflicting modes and malformed
// Redis URLs.
func TestUsageErrorsAreOneLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		command string
		args    []string
		what    string
	}{
		{"producer", []string{"-count", "5", "-frobnicate"}, "unknown flag --frobnicate (see producer -h)"},
		{"producer", []string{"-count", "5", "extra"}, `unexpected argument "extra"`},
		{"producer", []string{"-count", "5", "-input", "x"}, "give exactly one of --count N and --input FILE"},
		{"producer", nil, "give exactly one of --count N and --input FILE"},
		{"producer", []string{"-input", "x", "-max", "5"}, "--max 5 applies to --count, not --input"},
		{"producer", []string{"-count", "5", "-out", "-"}, `--out "-" needs --wait`},
		{"producer", []string{"-count", "5", "-run-id", "a:b"}, "--run-id"},
		{"producer", []string{"-count", "5", "-run-id", strings.Repeat("r", 129)}, "--run-id"},
		{"producer", []string{"-count", "5", "-queue", ""}, "--queue"},
		{"producer", []string{"-count", "5", "-prefix", "a b"}, "--prefix"},
		{"worker", []string{"-frobnicate"}, "unknown flag --frobnicate (see worker -h)"},
		{"worker", []string{"extra"}, `unexpected argument "extra"`},
		{"worker", []string{"-queue", " , "}, "--queue"},
		{"worker", []string{"-prefix", ""}, "--prefix"},
	}
	for _, url := range []string{"http://x", "redis://[::1", "redis://host:port/0", "redis://127.0.0.1:6379/notadb", "", "127.0.0.1:6379", "redis://127.0.0.1:6379/0?pool_size=abc"} {
		tests = append(tests,
			struct {
				command string
				args    []string
				what    string
			}{"producer", []string{"-count", "5", "-redis", url}, "redis URL"},
			struct {
				command string
				args    []string
				what    string
			}{"worker", []string{"-redis", url}, "redis URL"})
	}
	for _, tt := range tests {
		t.Run(tt.command+" "+strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			code, stderr := usageRun(t, tt.command, nil, tt.args...)
			requireUsageLine(t, tt.command, code, stderr, tt.what)
		})
	}
}

// TestSubcommandFlagsEitherSide runs the producer's subcommands with their
// own flags before the subcommand, after it, and with a flag's value
// spelled like a subcommand: `producer --run-id requeue status` is status
// of the run named requeue, no --run-id=requeue needed (it used to requeue
// a run named status). `worker --timeout 1s probe` is probe with its own
// --timeout.
func TestSubcommandFlagsEitherSide(t *testing.T) {
	t.Parallel()
	e := setup(t)
	r := produceEnv(t, e, nil, "-count", "5", "-batch-size", "5", "-run-id", "requeue", "-json")
	require.Equal(t, 0, r.code, r.stderr)
	where := []string{"-redis", e.URL, "-prefix", e.prefix}
	for _, args := range [][]string{
		append(append([]string{}, where...), "-run-id", "requeue", "status", "-json"),
		append([]string{"status", "--run-id", "requeue", "--json"}, where...),
		append(append([]string{"--json", "--run-id=requeue"}, where...), "status"),
		append(append([]string{"--run-id", "requeue"}, where...), "--json", "status"),
	} {
		r := runBin(t, "producer", nil, args...)
		require.Equal(t, 0, r.code, "%q: %s", args, r.stderr)
		var st struct {
			RunID   string `json:"run_id"`
			Batches int    `json:"batches"`
		}
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &st), "%q: %s", args, r.stdout)
		require.Equal(t, "requeue", st.RunID, "%q", args)
		require.Equal(t, 1, st.Batches, "%q", args)
	}

	url := fmt.Sprintf("http://127.0.0.1:%d/readyz", redistest.FreePortT(t))
	for _, args := range [][]string{
		{"-timeout", "1s", "-url", url, "probe"},
		{"probe", "--url=" + url, "--timeout", "1s"},
	} {
		r := runBin(t, "worker", nil, args...)
		require.Equal(t, 1, r.code, "%q: %s", args, r.stderr)
		require.Contains(t, r.stderr, "connection refused", "%q", args)
	}
	r = runBin(t, "worker", nil, "-timeout", "0s", "probe")
	requireRefused(t, "worker", r, "--timeout 0s must be positive")
}

// TestSubcommandsTakeOnlyTheirFlags gives each subcommand a flag that
// would do nothing there: each is refused with exit 2, naming the flag and
// the subcommand's -h, before Redis is contacted. `producer list --queue`
// and `producer results --json` used to be accepted and ignored.
func TestSubcommandsTakeOnlyTheirFlags(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"producer", []string{"list", "-queue", "q"}, "unknown flag --queue (see producer list -h)"},
		{"producer", []string{"-queue", "q", "list"}, "unknown flag --queue (see producer list -h)"},
		{"producer", []string{"list", "-run-id", "r"}, "unknown flag --run-id (see producer list -h)"},
		{"producer", []string{"results", "-run-id", "r", "-json"}, "unknown flag --json (see producer results -h)"},
		{"producer", []string{"status", "-run-id", "r", "-count", "5"}, "unknown flag --count (see producer status -h)"},
		{"producer", []string{"-count", "5", "-run-id", "r", "delete"}, "unknown flag --count (see producer delete -h)"},
		{"worker", []string{"probe", "-concurrency", "2"}, "unknown flag --concurrency (see worker probe -h)"},
		{"worker", []string{"probe", "-redis", "redis://127.0.0.1:1/0"}, "unknown flag --redis (see worker probe -h)"},
		{"worker", []string{"-url", "http://127.0.0.1:1/readyz"}, "unknown flag --url (see worker -h)"},
	} {
		t.Run(tt.name+" "+strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			args := tt.args
			if tt.name == "producer" {
				args = append([]string{"-redis", nowhere(t), "-redis-wait", "1s"}, args...)
			}
			requireRefused(t, tt.name, runBin(t, tt.name, nil, args...), tt.want)
		})
	}
}
