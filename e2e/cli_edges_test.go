package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/redistest"
)

// Edges of the command lines: what the flags and variables of every command
// take, and what they refuse before anything reaches Redis.

// runBin runs the binary name with args and extra environment variables,
// standard input empty, to its end, which must come within a minute: a
// command that should refuse its arguments and serves or waits instead
// fails the test rather than hanging it.
func runBin(t *testing.T, name string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(filepath.Join(bin, name), args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader("")
	var stdout, stderr redistest.LogBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	p := redistest.Spawn(t, cmd)
	code, err := p.Wait(time.Minute)
	require.NoError(t, err, "%s %q still runs; stderr:\n%s", name, args, stderr.Tail(20))
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// nowhere is a Redis URL nothing answers at, for commands that must refuse
// their arguments before contacting Redis.
func nowhere(t *testing.T) string {
	t.Helper()
	return fmt.Sprintf("redis://127.0.0.1:%d/0", redistest.FreePortT(t))
}

// produceEnv runs the producer on e's Redis and prefix, and on e's queue
// unless args give another, with extra environment variables.
func produceEnv(t *testing.T, e env, vars []string, args ...string) result {
	t.Helper()
	return runBin(t, "producer", vars, append([]string{"-redis", e.URL, "-queue", e.queue, "-prefix", e.prefix}, args...)...)
}

// requireRefused checks a usage error of the command name: exit 2 and the
// one line "NAME: MESSAGE" on standard error.
func requireRefused(t *testing.T, name string, r result, message string) {
	t.Helper()
	require.Equal(t, 2, r.code, "exit code; stderr:\n%s", r.stderr)
	require.Equal(t, name+": "+message+"\n", r.stderr)
}

// runRecord returns the record of the run the producer printed as JSON on
// stdout (--json).
func runRecord(t *testing.T, e env, stdout string) map[string]string {
	t.Helper()
	var s struct {
		RunID string `json:"run_id"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &s), "stdout: %s", stdout)
	rec, err := e.Client.HGetAll(context.Background(), e.prefix+":run:"+s.RunID).Result()
	require.NoError(t, err)
	require.NotEmpty(t, rec, "the record of run %s", s.RunID)
	return rec
}

// TestNumericFlagsAreDecimal runs the producer with integers written with
// leading zeros, by flag and by variable: each is read in decimal, as the
// integers of an input file are (010 is ten, not eight), and the run's
// record says so.
func TestNumericFlagsAreDecimal(t *testing.T) {
	t.Parallel()
	e := setup(t)
	r := produceEnv(t, e, nil, "-count", "010", "-max", "010", "-batch-size", "03", "-json")
	require.Equal(t, 0, r.code, r.stderr)
	rec := runRecord(t, e, r.stdout)
	require.Equal(t, "10", rec["integers"])
	require.Equal(t, "3", rec["batch_size"])
	require.Equal(t, "4", rec["batches"])
	require.Contains(t, rec["input"], " max=10 count=10")

	r = produceEnv(t, e, []string{"BITQUEUE_COUNT=010", "BITQUEUE_BATCH_SIZE=0005"}, "-json")
	require.Equal(t, 0, r.code, r.stderr)
	rec = runRecord(t, e, r.stdout)
	require.Equal(t, "10", rec["integers"])
	require.Equal(t, "5", rec["batch_size"])
}

// TestNumericFlagsRefuseOtherBases gives the producer's integer flags and
// variables values the flag package reads in another base, or with a sign or
// separators: each is refused with exit 2 and the usual message, and nothing
// reaches Redis.
func TestNumericFlagsRefuseOtherBases(t *testing.T) {
	t.Parallel()
	tests := []struct {
		vars []string
		args []string
		want string
	}{
		{nil, []string{"-count", "0x10"}, "--count 0x10: want a whole number from 1 to 10000000000"},
		{nil, []string{"-count", "0b11"}, "--count 0b11: want a whole number from 1 to 10000000000"},
		{nil, []string{"-count", "0o7"}, "--count 0o7: want a whole number from 1 to 10000000000"},
		{nil, []string{"-count", "1_000"}, "--count 1_000: want a whole number from 1 to 10000000000"},
		{nil, []string{"-count", "+5"}, "--count +5: want a whole number from 1 to 10000000000"},
		{nil, []string{"-count", "5", "-max", "0x10"}, "--max 0x10: want a whole number from 1 to 2^63"},
		{nil, []string{"-count", "5", "-batch-size", "0x10"}, "--batch-size 0x10: want a whole number from 1 to 100000"},
		{nil, []string{"-count", "5", "-seed", "0b1"}, "--seed 0b1: want a whole number, 0 or more"},
		{nil, []string{"-count", "5", "-shards", "+2"}, "--shards +2: want a whole number from 1 to 256"},
		{[]string{"BITQUEUE_COUNT=0x10"}, nil, "BITQUEUE_COUNT=0x10 (for --count): want a whole number from 1 to 10000000000"},
		{[]string{"BITQUEUE_BATCH_SIZE=1_000"}, []string{"-count", "5"}, "BITQUEUE_BATCH_SIZE=1_000 (for --batch-size): want a whole number from 1 to 100000"},
		{[]string{"BITQUEUE_MAX_RETRY=0o7"}, []string{"-count", "5"}, "BITQUEUE_MAX_RETRY=0o7 (for --max-retry): want a whole number from 0 to 100"},
		{[]string{"BITQUEUE_PRODUCER_CONCURRENCY=0x8"}, []string{"-count", "5"}, "BITQUEUE_PRODUCER_CONCURRENCY=0x8 (for --concurrency): want a whole number from 1 to 256"},
		{nil, []string{"-count", "5", "-schedule", "@hourly", "-catch-up", "0x1"}, "--catch-up 0x1: want a whole number from 0 to 1000"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(append(tt.vars, tt.args...), " "), func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			r := produceEnv(t, e, tt.vars, tt.args...)
			requireRefused(t, "producer", r, tt.want)
			requireNothingEnqueued(t, e)
		})
	}
}

// TestNumericFlagsAreDecimalInEveryCommand gives the integer flags of the
// other commands (worker, exporter, demo, the producer's subcommands) values
// in other bases: each refuses them, naming the value; and a worker reads
// --shards 010 as ten shards.
func TestNumericFlagsAreDecimalInEveryCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		vars []string
		args []string
		want string
	}{
		{"worker", nil, []string{"-concurrency", "0x10"}, "--concurrency 0x10: want a whole number from 1 to 1000"},
		{"worker", nil, []string{"-cache-bits", "+16"}, "--cache-bits +16: want a whole number from 1 to 28"},
		{"worker", []string{"BITQUEUE_SHARDS=0b11"}, nil, "BITQUEUE_SHARDS=0b11 (for --shards): want a whole number from 1 to 256"},
		{"exporter", nil, []string{"-shards", "0x2"}, "--shards 0x2: want a whole number from 1 to 256"},
		{"demo", nil, []string{"-count", "1_000"}, "--count 1_000: want a whole number from 1 to 100000000"},
		{"demo", []string{"BITQUEUE_DEMO_WORKERS=0x2"}, nil, "BITQUEUE_DEMO_WORKERS=0x2 (for --workers): want a whole number from 1 to 64"},
		{"producer", nil, []string{"requeue", "-run-id", "r", "-max-retry", "0x1"}, "--max-retry 0x1: want a whole number from 0 to 100"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" "+strings.Join(append(tt.vars, tt.args...), " "), func(t *testing.T) {
			t.Parallel()
			args := append([]string{"-redis", nowhere(t)}, tt.args...)
			requireRefused(t, tt.name, runBin(t, tt.name, tt.vars, args...), tt.want)
		})
	}
	t.Run("worker --shards 010", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		w := startWorker(t, e, "-shards", "010")
		require.Contains(t, w.Logs(), e.queue+"-9]", "the tenth shard is served")
		require.NotContains(t, w.Logs(), e.queue+"-10", "no eleventh")
	})
}

// requireQueueUntouched checks that asynq knows nothing of the queue name:
// no key of it, and not in asynq's set of queues.
func requireQueueUntouched(t *testing.T, e env, name string) {
	t.Helper()
	require.Empty(t, scanKeys(t, e.Client, "asynq:{"+name+"}*"), "asynq keys of queue %q", name)
	member, err := e.Client.SIsMember(context.Background(), "asynq:queues", name).Result()
	require.NoError(t, err)
	require.False(t, member, "queue %q among asynq's queues", name)
}

// TestQueueNamesAWorkerCanServe gives the producer (one-shot and
// --schedule), its subcommands and the worker queue names no worker can
// serve: a comma (a worker's --queue reads two queues), whitespace, an
// empty name, a brace (asynq's cluster hash tag). Each is refused with exit
// 2 naming the value, and nothing is enqueued: `producer --queue a,b --wait`
// used to enqueue on a queue named "a,b" and wait for ever.
func TestQueueNamesAWorkerCanServe(t *testing.T) {
	t.Parallel()
	const comma = `must not hold a comma: a worker's --queue reads "a,b" as two queues, a and b`
	const brace = "must not hold { or }: asynq keys a queue as asynq:{queue}:…, which Redis Cluster places by what lies between the braces"
	// QNAME stands for a queue of the subtest's own.
	for _, tt := range []struct {
		name  string
		vars  []string
		args  []string
		queue string // the queue refused
		want  string
	}{
		{"comma and --wait", nil, []string{"-queue", "QNAME,x", "-count", "5", "-wait"}, "QNAME,x", "--queue QNAME,x " + comma},
		{"comma by variable", []string{"BITQUEUE_QUEUE=QNAME,x"}, []string{"-count", "5"}, "QNAME,x", "BITQUEUE_QUEUE=QNAME,x " + comma},
		{"comma with --schedule", nil, []string{"-queue", "QNAME,y", "-count", "5", "-schedule", "@every 1s"}, "QNAME,y", "--queue QNAME,y " + comma},
		{"brace", nil, []string{"-queue", "{QNAME}", "-count", "5"}, "{QNAME}", `--queue "{QNAME}" ` + brace},
		{"space", nil, []string{"-queue", "QNAME x", "-count", "5"}, "QNAME x", `--queue "QNAME x" must be non-empty without spaces`},
		{"trailing newline", nil, []string{"-queue", "QNAME\n", "-count", "5"}, "QNAME\n", `--queue "QNAME\n" must be non-empty without spaces`},
		{"empty", nil, []string{"-queue=", "-count", "5"}, "", `--queue "" must be non-empty without spaces`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			name := func(s string) string { return strings.ReplaceAll(s, "QNAME", e.queue) }
			vars := make([]string, len(tt.vars))
			for i, v := range tt.vars {
				vars[i] = name(v)
			}
			args := []string{"-redis", e.URL, "-prefix", e.prefix}
			for _, a := range tt.args {
				args = append(args, name(a))
			}
			requireRefused(t, "producer", runBin(t, "producer", vars, args...), name(tt.want))
			requireQueueUntouched(t, e, name(tt.queue))
			require.Empty(t, scanKeys(t, e.Client, e.prefix+":*"), "keys under the prefix")
		})
	}
	e := setup(t)
	t.Run("subcommands", func(t *testing.T) {
		for _, sub := range []string{"status", "requeue", "results", "delete"} {
			r := runBin(t, "producer", nil, sub, "-redis", e.URL, "-prefix", e.prefix, "-run-id", "r1", "-queue", "a,b")
			requireRefused(t, "producer", r, "--queue a,b "+comma)
			r = runBin(t, "producer", []string{"BITQUEUE_RUN_QUEUE={a}"}, sub, "-redis", e.URL, "-prefix", e.prefix, "-run-id", "r1")
			requireRefused(t, "producer", r, `BITQUEUE_RUN_QUEUE="{a}" `+brace)
		}
	})
	t.Run("worker", func(t *testing.T) {
		for _, tt := range []struct {
			vars []string
			args []string
			want string
		}{
			{nil, []string{"-queue", "a,{b}"}, `--queue "a,{b}": queue "{b}" ` + brace},
			{nil, []string{"-queue", "a, b c"}, `--queue "a, b c": queue "b c" must be non-empty without spaces`},
			{[]string{"BITQUEUE_QUEUE=a,b\x07"}, nil, `BITQUEUE_QUEUE="a,b\a": queue "b\a" must not hold the non-printing character U+0007`},
		} {
			r := runBin(t, "worker", tt.vars, append([]string{"-redis", nowhere(t), "-prefix", e.prefix, "-redis-wait", "1s"}, tt.args...)...)
			requireRefused(t, "worker", r, tt.want)
		}
	})
	t.Run("exporter", func(t *testing.T) {
		r := runBin(t, "exporter", nil, "-redis", nowhere(t), "-queue", "a,{b}")
		requireRefused(t, "exporter", r, `--queue "a,{b}": queue "{b}" `+brace)
	})
}

// TestRedisSettingErrorsFailAtOnce points the commands at Redis in ways no
// wait can cure. A URL that cannot be used — no scheme, a port out of range
// — is refused before Redis is contacted: exit 2, one line showing the URL
// (password redacted) and the setting it came from. A Redis that answers,
// but refuses the URL's database or its user's PING, ends start-up at once
// with what to fix: exit 1, as wrong credentials do, without retrying for
// --redis-wait and without enqueueing anything.
func TestRedisSettingErrorsFailAtOnce(t *testing.T) {
	t.Parallel()
	t.Run("malformed URLs", func(t *testing.T) {
		t.Parallel()
		for _, tt := range []struct {
			name string
			vars []string
			args []string
			want string
		}{
			{"producer", nil, []string{"-count", "5", "-redis", "127.0.0.1:6512"},
				"redis URL 127.0.0.1:6512 (from --redis): no scheme; want redis://HOST:PORT/0, such as redis://127.0.0.1:6512/0"},
			{"producer", []string{"BITQUEUE_REDIS_URL=redis://:hunter2@127.0.0.1:99999/0"}, []string{"-count", "5"},
				"redis URL redis://:xxxxx@127.0.0.1:99999/0 (from BITQUEUE_REDIS_URL): port 99999 out of range [1, 65535]"},
			{"worker", nil, []string{"-redis", "redis://127.0.0.1:99999/0"},
				"redis URL redis://127.0.0.1:99999/0 (from --redis): port 99999 out of range [1, 65535]"},
			{"worker", []string{"REDIS_URL=bob:hunter2@10.0.0.5:6379"}, nil,
				"redis URL bob:xxxxx@10.0.0.5:6379 (from REDIS_URL): no scheme; want redis://HOST:PORT/0, such as redis://bob:xxxxx@10.0.0.5:6379/0"},
			{"exporter", nil, []string{"-redis", "127.0.0.1:6379"},
				"redis URL 127.0.0.1:6379 (from --redis): no scheme; want redis://HOST:PORT/0, such as redis://127.0.0.1:6379/0"},
		} {
			args := tt.args
			if tt.name != "exporter" {
				args = append([]string{"-redis-wait", "30s"}, args...)
			}
			start := time.Now()
			requireRefused(t, tt.name, runBin(t, tt.name, tt.vars, args...), tt.want)
			require.Less(t, time.Since(start), 10*time.Second, "%s %q: refused without waiting", tt.name, args)
		}
	})

	needRedisServer(t, false)
	s, e := startFaultServer(t)
	ctx := context.Background()
	require.NoError(t, e.Client.Do(ctx, "ACL", "SETUSER", "noping", "on", ">hunter2", "~*", "&*", "+@all", "-ping").Err())
	for _, tt := range []struct {
		name, url, reply, hint string
	}{
		{"database out of range", "redis://" + s.Addr + "/99", "ERR DB index is out of range",
			"the database at the end of the URL is not one this server has (it has /0 to /15 unless its databases setting says otherwise): fix --redis or BITQUEUE_REDIS_URL"},
		{"user without PING", "redis://noping:hunter2@" + s.Addr + "/0", "NOPERM",
			"the URL's user lacks a permission bitqueue needs"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			shown := strings.ReplaceAll(tt.url, "hunter2", "xxxxx")
			start := time.Now()
			r := runBin(t, "producer", nil, "-redis", tt.url, "-redis-wait", "30s", "-queue", e.queue, "-prefix", e.prefix, "-count", "5")
			require.Equal(t, 1, r.code, r.stderr)
			require.Less(t, time.Since(start), 10*time.Second, "no waiting for --redis-wait")
			require.Contains(t, r.stderr, "producer: redis at "+shown+": "+tt.reply)
			require.Contains(t, r.stderr, tt.hint)
			require.NotContains(t, r.stderr, "retrying")
			require.NotContains(t, r.stderr, "hunter2")
			require.Zero(t, e.Client.DBSize(ctx).Val(), "nothing enqueued")

			start = time.Now()
			w := spawnBin(t, "worker", "-redis", tt.url, "-redis-wait", "30s", "-queue", e.queue, "-prefix", e.prefix)
			require.Equal(t, 1, w.exitCode(t, 20*time.Second))
			require.Less(t, time.Since(start), 10*time.Second, "no waiting for --redis-wait")
			require.Contains(t, w.Logs(), tt.hint)
			require.NotContains(t, w.Logs(), "retrying")
			require.NotContains(t, w.Logs(), "msg=serving")
			require.NotContains(t, w.Logs(), "hunter2")
		})
	}
}

// TestUnknownCommandSuggestsOne misspells the producer's and the worker's
// subcommands: each is refused naming the command it likely meant, where
// it used to be an "unexpected argument"; nothing is enqueued.
func TestUnknownCommandSuggestsOne(t *testing.T) {
	t.Parallel()
	e := setup(t)
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"producer", []string{"stauts", "-run-id", "r1"}, `unknown command "stauts" (did you mean status?)`},
		{"producer", []string{"-count", "5", "reqeue"}, `unknown command "reqeue" (did you mean requeue?)`},
		{"producer", []string{"lsit"}, `unknown command "lsit" (did you mean list?)`},
		{"producer", []string{"delet", "-run-id", "r1"}, `unknown command "delet" (did you mean delete?)`},
		{"producer", []string{"result", "-run-id", "r1"}, `unknown command "result" (did you mean results?)`},
		{"producer", []string{"-count", "5", "extra"}, `unexpected argument "extra"`},
		{"worker", []string{"prob"}, `unknown command "prob" (did you mean probe?)`},
		{"worker", []string{"-concurrency", "2", "porbe"}, `unknown command "porbe" (did you mean probe?)`},
	} {
		args := append([]string{"-redis", e.URL, "-queue", e.queue, "-prefix", e.prefix}, tt.args...)
		requireRefused(t, tt.name, runBin(t, tt.name, nil, args...), tt.want)
	}
	requireNothingEnqueued(t, e)
}

// TestErrorFollowsTheAcceptedLogFormat checks that the final error is in the
// log format the command took: `worker --log-format json probe` is probe
// with JSON logs (probe takes the worker's logging flags, as it took
// BITQUEUE_LOG_FORMAT), where it used to refuse the flag in JSON; and a
// command without --log-format refuses it as text.
func TestErrorFollowsTheAcceptedLogFormat(t *testing.T) {
	t.Parallel()
	url := fmt.Sprintf("http://127.0.0.1:%d/readyz", redistest.FreePortT(t))
	for _, args := range [][]string{
		{"--log-format", "json", "probe", "--url", url},
		{"probe", "--log-format=json", "--log-level", "debug", "--url", url},
	} {
		r := runBin(t, "worker", nil, args...)
		require.Equal(t, 1, r.code, r.stderr)
		var line struct {
			Level, Msg, Err string
			Code            int
		}
		require.NoError(t, json.Unmarshal([]byte(r.stderr), &line), "one JSON line: %s", r.stderr)
		require.Equal(t, "exit", line.Msg)
		require.Contains(t, line.Err, "connection refused")
		require.Equal(t, 1, line.Code)
	}
	r := runBin(t, "worker", []string{"BITQUEUE_LOG_FORMAT=yaml"}, "probe", "--url", url)
	requireRefused(t, "worker", r, "BITQUEUE_LOG_FORMAT=yaml: want text or json")
	r = runBin(t, "worker", nil, "probe", "--log-level", "loud", "--url", url)
	requireRefused(t, "worker", r, "--log-level loud: want debug, info, warn or error")
	r = runBin(t, "demo", nil, "--log-format", "json")
	requireRefused(t, "demo", r, "unknown flag --log-format (see demo -h)")
}

// TestLostAfterNeedsWait checks that --lost-after, which only --wait reads,
// is refused without it, as --timeout is, by flag and by variable, and with
// --schedule; nothing is enqueued.
func TestLostAfterNeedsWait(t *testing.T) {
	t.Parallel()
	e := setup(t)
	for _, tt := range []struct {
		vars []string
		args []string
		want string
	}{
		{nil, []string{"-count", "5", "-lost-after", "1s"}, "--lost-after 1s needs --wait"},
		{[]string{"BITQUEUE_LOST_AFTER=30s"}, []string{"-count", "5"}, "BITQUEUE_LOST_AFTER=30s needs --wait"},
		{nil, []string{"-count", "5", "-schedule", "@hourly", "-lost-after", "1s"}, "--lost-after 1s applies to one-shot runs, not to --schedule"},
	} {
		requireRefused(t, "producer", produceEnv(t, e, tt.vars, tt.args...), tt.want)
		requireNothingEnqueued(t, e)
	}
}

// TestWaitErrorSaysItsOperationOnce stops Redis under `producer --wait`:
// the error names what gave up once ("wait for results: count done
// batches: gave up…"), where it used to say "wait for results: wait for
// results: gave up…".
func TestWaitErrorSaysItsOperationOnce(t *testing.T) {
	t.Parallel()
	needRedisServer(t, false)
	s, e := startFaultServer(t)
	bg := startProducer(t, e, "-count", "3", "-wait", "-redis-wait", "2s")
	redistest.WaitFor(t, 30*time.Second, "the producer to enqueue", func() bool { return bg.stderr.Contains("msg=enqueued") })
	stopServer(t, s, syscall.SIGKILL)
	r := bg.wait(t, time.Minute)
	require.Equal(t, 1, r.code, r.stderr)
	last := lastLine(r.stderr)
	// The poll of the done count, or the look for failed batches between
	// two polls, whichever Redis's death caught.
	require.Regexp(t, `^producer: wait for results: (count done batches|check for failed batches): gave up after Redis did not answer for`, last)
	require.Equal(t, 1, strings.Count(last, "wait for results"), last)
}
