package main

import (
	"bitqueue/internal/base"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/cli"
	"bitqueue/internal/input"
	"bitqueue/redistest"
)

func noEnv(string) string { return "" }

func TestParseSchedule(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		want string // error message part; "" for success
	}{
		{"every second", []string{"-schedule", "@every 1s", "-count", "10"}, ""},
		{"cron in a zone from a file", []string{"-schedule", "0 12 * * 1-5", "-tz", "Europe/Paris", "-input", "numbers.txt", "-name", "nightly"}, ""},
		{"catch-up and retention", []string{"-schedule", "@hourly", "-count", "10", "-catch-up", "24", "-retention", "2h"}, ""},
		{"one-shot retention", []string{"-count", "10", "-retention", "1h"}, ""},
		{"bad spec", []string{"-schedule", "61 * * * *", "-count", "10"}, `--schedule "61 * * * *": end of range (61) above maximum (59)`},
		{"sub-second every", []string{"-schedule", "@every 500ms", "-count", "10"}, "whole number of seconds"},
		{"unknown zone", []string{"-schedule", "@daily", "-tz", "Mars/Olympus", "-count", "10"}, "--tz Mars/Olympus: unknown time zone"},
		{"local zone", []string{"-schedule", "@daily", "-tz", "Local", "-count", "10"}, "--tz Local differs from host to host"},
		{"bad name", []string{"-schedule", "@daily", "-name", "a:b", "-count", "10"}, "--name a:b must be 1 to 111 characters"},
		{"long name", []string{"-schedule", "@daily", "-name", string(bytes.Repeat([]byte("n"), 112)), "-count", "10"}, "must be 1 to 111 characters"},
		{"empty name", []string{"-schedule", "@daily", "-name", "", "-count", "10"}, `--name ""`},
		{"run id", []string{"-schedule", "@daily", "-run-id", "x", "-count", "10"}, "--run-id x does not apply to --schedule"},
		{"seed", []string{"-schedule", "@daily", "-seed", "7", "-count", "10"}, "--seed 7 does not apply to --schedule"},
		{"stdin", []string{"-schedule", "@daily", "-input", "-"}, `--input "-" (stdin) cannot be read again`},
		{"wait", []string{"-schedule", "@daily", "-count", "10", "-wait"}, "--wait applies to one-shot runs, not to --schedule"},
		{"out", []string{"-schedule", "@daily", "-count", "10", "-out", "x"}, "--out x applies to one-shot runs, not to --schedule"},
		{"json", []string{"-schedule", "@daily", "-count", "10", "-json"}, "--json applies to one-shot runs, not to --schedule"},
		{"retention below a minute", []string{"-schedule", "@daily", "-count", "10", "-retention", "30s"}, "--retention 30s is below 1m"},
		{"retention none", []string{"-schedule", "@daily", "-count", "10", "-retention", "0s"}, "--retention 0s is below 1m"},
		{"retention a minute", []string{"-schedule", "@daily", "-count", "10", "-retention", "1m"}, ""},
		{"catch-up none", []string{"-schedule", "@daily", "-count", "10", "-catch-up", "0"}, ""},
		{"catch-up too large", []string{"-schedule", "@daily", "-count", "10", "-catch-up", "1001"}, "--catch-up 1001 out of range [0, 1000]"},
		{"catch-up negative", []string{"-schedule", "@daily", "-count", "10", "-catch-up", "-1"}, `--catch-up "-1" out of range`},
		{"retention negative", []string{"-count", "10", "-retention", "-1s"}, `--retention "-1s" out of range [0, 168h]`},
		{"retention too long", []string{"-schedule", "@daily", "-count", "10", "-retention", "200h"}, "--retention 200h out of range [0, 168h]"},
		{"tz without schedule", []string{"-count", "10", "-tz", "UTC"}, "--tz UTC needs --schedule"},
		{"name without schedule", []string{"-count", "10", "-name", "x"}, "--name x needs --schedule"},
		{"catch-up without schedule", []string{"-count", "10", "-catch-up", "1"}, "--catch-up 1 needs --schedule"},
		{"no input", []string{"-schedule", "@daily"}, "exactly one of --count N and --input FILE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := parse(tc.args, noEnv, io.Discard)
			if tc.want == "" {
				require.NoError(t, err)
				if c.Schedule != "" {
					require.NotNil(t, c.sched)
				}
				return
			}
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
			require.Equal(t, cli.ExitUsage, cli.ExitCode(err))
		})
	}
}

func TestTickRetention(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		want time.Duration
	}{
		{"every second: at least a minute", []string{"-schedule", "@every 1s"}, time.Minute},
		{"every 5 minutes: two periods", []string{"-schedule", "@every 5m"}, 10 * time.Minute},
		{"hourly", []string{"-schedule", "@hourly"}, 2 * time.Hour},
		{"daily: at most a day", []string{"-schedule", "@daily"}, 24 * time.Hour},
		{"given", []string{"-schedule", "@every 1s", "-retention", "10m"}, 10 * time.Minute},
		{"given as the least", []string{"-schedule", "@hourly", "-retention", "1m"}, time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parse(append(tc.args, "-count", "1"), noEnv, io.Discard)
			require.NoError(t, err)
			tick := c.sched.Next(time.Date(2026, 11, 29, 11, 59, 59, 0, time.UTC))
			require.Equal(t, tc.want, c.producer(nil, nil, &fakeClock{}).Retention(tick))
		})
	}
}

// fakeClock is a schedule.Clock whose sleeps return at once, moving its time
// to the end of the sleep, and which stops the run (cancel) when asked to
// sleep until stopAt or later.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	stopAt time.Time
	cancel context.CancelFunc
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) SleepUntil(ctx context.Context, t time.Time) error {
	if !t.Before(c.stopAt) {
		c.cancel()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.now = t
	}
	return nil
}

// replica runs the scheduled producer with args on a fake clock from start
// until it would sleep until stop or later, and returns its logs. It may run
// on a goroutine of its own: it reports instead of failing the test.
func replica(args []string, start, stop time.Time) (string, error) {
	c, err := parse(args, noEnv, io.Discard)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &redistest.LogBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	clock := &fakeClock{now: start, stopAt: stop, cancel: cancel}
	done := make(chan error, 1)
	go func() { done <- runScheduled(ctx, c, log, clock) }()
	select {
	case err := <-done:
		return logs.String(), err
	case <-time.After(2 * time.Minute):
		cancel()
		return logs.String(), errors.New("scheduled producer did not stop within 2 minutes")
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	require.NoError(t, err)
	return tm
}

var tickLine = regexp.MustCompile(`msg=tick tick=\S+ run_id=(\S+) catch_up=(\S+) batches=(\d+) new=(\d+) already_queued=(\d+) already_done=(\d+)`)

// tickStats sums, per run id, the "new" and "already_queued" counts of the
// tick lines in logs.
func tickStats(t *testing.T, logs ...string) map[string][2]int {
	t.Helper()
	out := map[string][2]int{}
	for _, l := range logs {
		for _, m := range tickLine.FindAllStringSubmatch(l, -1) {
			n, _ := strconv.Atoi(m[4])
			q, _ := strconv.Atoi(m[5])
			s := out[m[1]]
			out[m[1]] = [2]int{s[0] + n, s[1] + q}
		}
	}
	return out
}

// queued returns the ids of the pending tasks of queue, sorted.
func queued(t *testing.T, insp *asynq.Inspector, queue string) []string {
	t.Helper()
	var ids []string
	for page := 1; ; page++ {
		list, err := insp.ListPendingTasks(queue, asynq.PageSize(100), asynq.Page(page))
		require.NoError(t, err)
		for _, ti := range list {
			ids = append(ids, ti.ID)
		}
		if len(list) < 100 {
			break
		}
	}
	slices.Sort(ids)
	return ids
}

func batchIDs(runIDs ...string) []string {
	var ids []string
	for _, r := range runIDs {
		for seq := range 3 {
			ids = append(ids, r+":"+strconv.Itoa(seq))
		}
	}
	slices.Sort(ids)
	return ids
}

// Two replicas on the same schedule, started at different moments, enqueue
// each tick once between them; a replica started later catches up on the
// ticks missed while none ran only when asked to. No worker runs: the tasks
// stay pending for the test to read.
func TestScheduledReplicasAgainstRedis(t *testing.T) {
	r := redistest.Start(t)
	queue, prefix := r.Namespace(t)
	insp := asynq.NewInspectorFromRedisClient(r.Client)
	args := func(extra ...string) []string {
		return append([]string{"-redis", r.URL, "-queue", queue, "-prefix", prefix, "-schedule", "@every 1s", "-name", "rep", "-count", "250", "-batch-size", "100"}, extra...)
	}

	// Replicas A and B run at once, from 12:00:00.2 and 12:00:00.9, until
	// 12:00:04, with the default --catch-up 1: tick 11:59:59 (caught up),
	// then 00 (due in the second they start), 01, 02 and 03, three batches
	// each. Each tick is enqueued once between them; a replica that comes to
	// a tick the other has already marked produced leaves it alone.
	var wg sync.WaitGroup
	var logsA, logsB string
	var errA, errB error
	startA, startB, stop := mustTime(t, "2026-11-29T12:00:00.2Z"), mustTime(t, "2026-11-29T12:00:00.9Z"), mustTime(t, "2026-11-29T12:00:04Z")
	wg.Go(func() { logsA, errA = replica(args(), startA, stop) })
	wg.Go(func() { logsB, errB = replica(args(), startB, stop) })
	wg.Wait()
	require.NoError(t, errA, logsA)
	require.NoError(t, errB, logsB)
	ticks := []string{"rep-20261129T115959Z", "rep-20261129T120000Z", "rep-20261129T120001Z", "rep-20261129T120002Z", "rep-20261129T120003Z"}
	stats := tickStats(t, logsA, logsB)
	for _, id := range ticks {
		require.Equal(t, 3, stats[id][0], "tick %s: batches enqueued new over both replicas; logs:\n%s\n%s", id, logsA, logsB)
		for _, logs := range []string{logsA, logsB} {
			require.Regexp(t, `msg=(tick|"tick already produced") tick=\S+ run_id=`+id+` `, logs, "each replica comes to tick %s", id)
		}
		require.True(t, marked(t, r, prefix, id), "tick %s marked produced", id)
	}
	require.Contains(t, logsA, "run_id=rep-20261129T115959Z catch_up=true")
	require.Equal(t, batchIDs(ticks...), queued(t, insp, queue))
	info, err := insp.GetTaskInfo(queue, "rep-20261129T120001Z:0")
	require.NoError(t, err)
	require.Equal(t, time.Minute, info.Retention, "retention of an @every 1s tick")

	// All replicas down for ticks 04 and 05. C starts at 12:00:05.5 with
	// --catch-up 3: ticks 02 and 03 are marked, 04 is produced, then 05 (due
	// in C's first second) and 06.
	logsC, err := replica(args("-catch-up", "3"), mustTime(t, "2026-11-29T12:00:05.5Z"), mustTime(t, "2026-11-29T12:00:07Z"))
	require.NoError(t, err, logsC)
	require.Contains(t, logsC, `msg="tick already produced" tick=2026-11-29T12:00:02Z run_id=rep-20261129T120002Z catch_up=true`)
	require.Contains(t, logsC, `msg="tick already produced" tick=2026-11-29T12:00:03Z run_id=rep-20261129T120003Z catch_up=true`)
	require.Contains(t, logsC, "run_id=rep-20261129T120004Z catch_up=true batches=3 new=3 already_queued=0")
	require.Contains(t, logsC, "run_id=rep-20261129T120005Z catch_up=false batches=3 new=3 already_queued=0")
	require.Contains(t, logsC, "run_id=rep-20261129T120006Z catch_up=false batches=3 new=3 already_queued=0")
	require.Len(t, tickLine.FindAllString(logsC, -1), 3, logsC)
	// All down again for 07; D starts at 12:00:08.5 with --catch-up 0: 07 is
	// not replayed, 08 is due.
	logsD, err := replica(args("-catch-up", "0"), mustTime(t, "2026-11-29T12:00:08.5Z"), mustTime(t, "2026-11-29T12:00:09Z"))
	require.NoError(t, err, logsD)
	require.Len(t, tickLine.FindAllString(logsD, -1), 1, logsD)
	require.Contains(t, logsD, "run_id=rep-20261129T120008Z catch_up=false batches=3 new=3")
	ticks = append(ticks, "rep-20261129T120004Z", "rep-20261129T120005Z", "rep-20261129T120006Z", "rep-20261129T120008Z")
	require.Equal(t, batchIDs(ticks...), queued(t, insp, queue))

	// A tick's integers are drawn from its run id's seed, as a one-shot
	// run's are.
	want, err := input.Random(base.SeedFor("rep-20261129T120005Z"), 250, 1<<20).Open()
	require.NoError(t, err)
	for seq := range 3 {
		ti, err := insp.GetTaskInfo(queue, "rep-20261129T120005Z:"+strconv.Itoa(seq))
		require.NoError(t, err)
		var b base.Batch
		require.NoError(t, base.DecodeBatch(&b, ti.Payload))
		require.Equal(t, "rep-20261129T120005Z", b.RunID)
		for i, n := range b.Nums {
			w, err := want.Next()
			require.NoError(t, err)
			require.Equal(t, w, n, "batch %d integer %d", seq, i)
		}
	}

	// A one-shot run with a tick's run id (the system-cron way) is the same
	// run: nothing is enqueued twice.
	var stderr bytes.Buffer
	err = run(context.Background(), []string{"-redis", r.URL, "-queue", queue, "-prefix", prefix, "-run-id", "rep-20261129T120005Z", "-count", "250", "-batch-size", "100"}, noEnv, io.Discard, &stderr)
	require.NoError(t, err, stderr.String())
	require.Contains(t, stderr.String(), "new=0 already_queued=3 already_done=0")
	require.Equal(t, batchIDs(ticks...), queued(t, insp, queue))
}

func TestScheduledRejectsBadFileAtStart(t *testing.T) {
	t.Parallel()
	c, err := parse([]string{"-schedule", "@every 1s", "-input", t.TempDir()}, noEnv, io.Discard)
	require.NoError(t, err)
	err = runScheduled(context.Background(), c, slog.New(slog.DiscardHandler), &fakeClock{})
	require.Error(t, err)
	require.Contains(t, err.Error(), "is a directory")
	require.Equal(t, cli.ExitUsage, cli.ExitCode(err))
}
