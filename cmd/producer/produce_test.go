package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
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

	"bitqueue/internal/base"
	"bitqueue/internal/cli"
	"bitqueue/internal/input"
	"bitqueue/internal/runs"
	"bitqueue/internal/tasks"
	"bitqueue/redistest"
)

// TestRunError checks the exit code and advice the command gives each run
// error: a refused run id is a usage error (2) naming the flags to give, lost
// batches a failure (1) saying how requeue enqueues them again, with the
// run's input file when it has one.
func TestRunError(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		err   error
		input string // the run's --input
		code  int
		want  string
	}{
		{"mismatch", &runs.MismatchError{RunID: "r", Field: "batch_size", Recorded: "10", Given: "5"}, "", cli.ExitUsage,
			`run r is bound to batch_size="10", not "5": nothing enqueued; give the run's own --batch-size, or another --run-id`},
		{"deleted", fmt.Errorf("create: %w", &runs.DeletedError{RunID: "r"}), "", cli.ExitUsage, "run r was deleted"},
		{"lost, random", &runs.LostError{RunID: "r", IDs: []string{"r:2"}, Count: 1}, "", cli.ExitFailure,
			"run r: 1 batch(es) lost (no result and no task): r:2; `producer requeue --run-id r` enqueues them again"},
		{"lost, file", &runs.LostError{RunID: "r", IDs: []string{"r:2"}, Count: 1}, "numbers.txt", cli.ExitFailure,
			"run r: 1 batch(es) lost (no result and no task): r:2; `producer requeue --run-id r --input numbers.txt` enqueues them again"},
		{"lost, stdin", &runs.LostError{RunID: "r", IDs: []string{"r:2"}, Count: 1}, "-", cli.ExitFailure,
			"r:2; `producer requeue --run-id r --input FILE` enqueues them again, FILE holding the run's input"},
		{"out of memory", &runs.OutOfMemoryError{RunID: "r", Started: true, Batches: 10, Enqueued: 3, Queued: 2, Done: 1, Err: errors.New("OOM command not allowed")}, "", cli.ExitFailure,
			"Redis is out of memory (maxmemory with noeviction): 5 of the 10 batches of run r are queued (3 by this run, 2 before) and stay queued, 1 have results; free memory or raise maxmemory, then run again with --run-id r to enqueue the rest (redis: OOM command not allowed)"},
		{"out of memory before the record", &runs.OutOfMemoryError{RunID: "r", Batches: 10, Err: errors.New("OOM command not allowed")}, "", cli.ExitFailure,
			"Redis is out of memory (maxmemory with noeviction): nothing of run r was enqueued; free memory or raise maxmemory, then run again (redis: OOM command not allowed)"},
		{"other", errors.New("boom"), "", cli.ExitFailure, "boom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := runError(tc.err, tc.input)
			require.Equal(t, tc.code, cli.ExitCode(err))
			require.Contains(t, err.Error(), tc.want)
			require.True(t, errors.Is(err, tc.err), "the advice keeps the error it advises on")
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

// marked reports whether the tick with run id runID is marked produced.
func marked(t *testing.T, r *redistest.Redis, prefix, runID string) bool {
	t.Helper()
	n, err := r.Client.Exists(context.Background(), base.TickKey(prefix, runID)).Result()
	require.NoError(t, err)
	return n == 1
}

func TestDefaultCatchUpIsOne(t *testing.T) {
	t.Parallel()
	c, err := parse([]string{"-schedule", "@hourly", "-count", "1"}, noEnv, io.Discard)
	require.NoError(t, err)
	require.Equal(t, 1, c.CatchUp)
}

// A tick produced to its end is marked for as long as catch-up can reach it;
// catch-up does not produce it again once its tasks and results are gone,
// and produces the ticks nobody marked.
func TestScheduledCatchUpSkipsMarkedTicks(t *testing.T) {
	r := redistest.Start(t)
	queue, prefix := r.Namespace(t)
	insp := asynq.NewInspectorFromRedisClient(r.Client)
	args := func(extra ...string) []string {
		return append([]string{"-redis", r.URL, "-queue", queue, "-prefix", prefix, "-schedule", "@every 10s", "-name", "mk", "-count", "250", "-batch-size", "100"}, extra...)
	}
	// A: from 12:00:00.5 to 12:00:10, with --catch-up 0: tick 00.
	logsA, err := replica(args("-catch-up", "0"), mustTime(t, "2026-11-29T12:00:00.5Z"), mustTime(t, "2026-11-29T12:00:10Z"))
	require.NoError(t, err, logsA)
	require.Contains(t, logsA, "run_id=mk-20261129T120000Z catch_up=false batches=3 new=3")
	require.True(t, marked(t, r, prefix, "mk-20261129T120000Z"))
	ttl := r.Client.PTTL(context.Background(), base.TickKey(prefix, "mk-20261129T120000Z")).Val()
	require.Greater(t, ttl, 10*time.Minute, "the mark outlives the reach of catch-up and a margin")

	// Its tasks and results are gone (expired, deleted): the batches have
	// neither, which is all the producer used to look at.
	_, err = insp.DeleteAllPendingTasks(queue)
	require.NoError(t, err)
	require.Empty(t, queued(t, insp, queue))

	// B starts at 12:00:25 with --catch-up 3: of the last three ticks,
	// 12:00:00 was produced and is not produced again; 12:00:10 and 12:00:20
	// never were.
	logsB, err := replica(args("-catch-up", "3"), mustTime(t, "2026-11-29T12:00:25Z"), mustTime(t, "2026-11-29T12:00:30Z"))
	require.NoError(t, err, logsB)
	require.Contains(t, logsB, `msg="tick already produced" tick=2026-11-29T12:00:00Z run_id=mk-20261129T120000Z catch_up=true`)
	require.NotContains(t, logsB, "run_id=mk-20261129T120000Z catch_up=true batches")
	for _, id := range []string{"mk-20261129T120010Z", "mk-20261129T120020Z"} {
		require.Contains(t, logsB, "run_id="+id+" catch_up=true batches=3 new=3", logsB)
	}
	require.Equal(t, batchIDs("mk-20261129T120010Z", "mk-20261129T120020Z"), queued(t, insp, queue))
}

// A tick cut short (a rolling deploy's SIGTERM) is left unmarked and partly
// enqueued; the next start completes it with the default --catch-up 1,
// enqueueing only the missing batches, and marks it.
func TestScheduledInterruptedTickCompletedByNextStart(t *testing.T) {
	r := redistest.Start(t)
	queue, prefix := r.Namespace(t)
	insp := asynq.NewInspectorFromRedisClient(r.Client)
	const runID = "cut-20261129T120000Z"
	// What the stopped replica got through: batch 0 of 3.
	s, err := input.Random(base.SeedFor(runID), 250, 1<<20).Open()
	require.NoError(t, err)
	nums := make([]uint64, 100)
	for i := range nums {
		nums[i], err = s.Next()
		require.NoError(t, err)
	}
	task, err := tasks.NewBitsTask(base.Batch{RunID: runID, Seq: 0, Nums: nums}, asynq.Queue(queue))
	require.NoError(t, err)
	client := asynq.NewClientFromRedisClient(r.Client)
	_, err = client.Enqueue(task)
	require.NoError(t, err)

	logs, err := replica([]string{"-redis", r.URL, "-queue", queue, "-prefix", prefix, "-schedule", "@every 10s", "-name", "cut", "-count", "250", "-batch-size", "100"},
		mustTime(t, "2026-11-29T12:00:04Z"), mustTime(t, "2026-11-29T12:00:10Z"))
	require.NoError(t, err, logs)
	require.Contains(t, logs, "run_id="+runID+" catch_up=true batches=3 new=2 already_queued=1")
	require.True(t, marked(t, r, prefix, runID))
	require.Equal(t, batchIDs(runID), queued(t, insp, queue))
}
