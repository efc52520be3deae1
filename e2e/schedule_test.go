package e2e

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/base"
	"bitqueue/internal/input"
	"bitqueue/redistest"
)

// startScheduler starts a scheduled producer on e's queue and prefix and
// waits until it is connected and waiting for its first tick. The process is
// killed when the test ends if it still runs.
func startScheduler(t *testing.T, e env, args ...string) *proc {
	t.Helper()
	args = append([]string{"-redis", e.URL, "-queue", e.queue, "-prefix", e.prefix}, args...)
	return spawnUntil(t, exec.Command(filepath.Join(bin, "producer"), args...), 30*time.Second, "msg=schedule ")
}

// schedTickRE matches a scheduled producer's line for a produced tick.
var schedTickRE = regexp.MustCompile(`msg=tick tick=(\S+) run_id=(\S+) catch_up=\S+ batches=(\d+) new=(\d+) already_queued=(\d+) already_done=(\d+)`)

// schedTick is one tick line of a scheduled producer.
type schedTick struct {
	at    time.Time
	runID string
	new   int
}

func schedTicks(t *testing.T, logs string) []schedTick {
	t.Helper()
	var out []schedTick
	for _, m := range schedTickRE.FindAllStringSubmatch(logs, -1) {
		at, err := time.Parse(time.RFC3339, m[1])
		require.NoError(t, err)
		n, _ := strconv.Atoi(m[4])
		out = append(out, schedTick{at: at, runID: m[2], new: n})
	}
	return out
}

// checkTickResults reads every result hash of a scheduled tick straight from
// Redis and checks each row against strconv.FormatInt of the integers
// regenerated from the run id's seed, as the producer draws them.
func checkTickResults(t *testing.T, e env, runID string, count, batch int) {
	t.Helper()
	ctx := context.Background()
	s, err := input.Random(base.SeedFor(runID), uint64(count), 1<<20).Open()
	require.NoError(t, err)
	for seq := 0; seq*batch < count; seq++ {
		key := base.ResultKey(e.prefix, runID, uint64(seq))
		h, err := e.Client.HGetAll(ctx, key).Result()
		require.NoError(t, err)
		require.NotEmpty(t, h, "no result at %s", key)
		n := min(batch, count-seq*batch)
		require.Equal(t, strconv.Itoa(n), h["count"], key)
		width, err := strconv.Atoi(h["width"])
		require.NoError(t, err, key)
		packed := []byte(h["bits"])
		require.Len(t, packed, (n*width+7)/8, key)
		for i := range n {
			want, err := s.Next()
			require.NoError(t, err)
			got := strings.TrimLeft(fmt.Sprintf("%0*b", width, readRow(packed, width, i)), "0")
			if got == "" {
				got = "0"
			}
			if got != strconv.FormatInt(int64(want), 2) {
				require.Failf(t, "wrong bits", "%s row %d: %s, want %b (%d)", key, i, got, want, want)
			}
		}
	}
	_, err = s.Next()
	require.ErrorIs(t, err, io.EOF)
}

// Three producer replicas on "@every 1s", started at different moments, make
// each tick's run exactly once between them, with no coordination but the
// task ids; one of them is SIGKILLed half-way and nothing changes.
func TestScheduledReplicasProduceEachTickOnce(t *testing.T) {
	t.Parallel()
	e := setup(t)
	insp := e.inspector(t)
	t.Cleanup(func() { _, _ = insp.DeleteAllCompletedTasks(e.queue) }) // runs before the namespace's cleanup
	const count, batch, batches = 2000, 100, 20
	name := "sched-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	w1, w2 := startWorker(t, e), startWorker(t, e)

	args := []string{"-schedule", "@every 1s", "-name", name, "-count", strconv.Itoa(count), "-batch-size", strconv.Itoa(batch), "-retention", "10m"}
	var reps []*proc
	for range 3 {
		reps = append(reps, startScheduler(t, e, args...))
		time.Sleep(350 * time.Millisecond) // replicas start at different moments
	}
	start := time.Now().Truncate(time.Second)
	tickID := func(k int) string {
		return name + "-" + start.Add(time.Duration(k)*time.Second).UTC().Format("20060102T150405Z")
	}

	// Kill the middle replica once it has produced the second tick all three
	// share.
	victim, survivors := reps[1], []*proc{reps[0], reps[2]}
	redistest.WaitFor(t, 30*time.Second, "tick 2 by the victim", func() bool { return strings.Contains(victim.Logs(), "run_id="+tickID(2)+" ") })
	require.Equal(t, -1, victim.stop(t, syscall.SIGKILL), "killed by SIGKILL")
	killed := time.Now()

	// Run until the fifth shared tick, then stop the others as an orchestrator
	// would: they exit 0.
	for _, p := range survivors {
		redistest.WaitFor(t, 30*time.Second, "tick 5", func() bool { return strings.Contains(p.Logs(), "run_id="+tickID(5)+" ") })
	}
	for _, p := range survivors {
		require.Equal(t, 0, p.stop(t, syscall.SIGTERM), "exit code after SIGTERM; logs:\n%s", p.Logs())
	}
	// (asynq counts retained completed tasks in a queue's Size: look at the
	// states that still have work to do.)
	redistest.WaitFor(t, 60*time.Second, "the queue drained", func() bool {
		info, err := insp.GetQueueInfo(e.queue)
		return err == nil && info.Pending+info.Active+info.Scheduled+info.Retry+info.Archived == 0
	})

	// Every tick any replica produced, the five shared ones among them.
	logs := []string{reps[0].Logs(), victim.Logs(), reps[2].Logs()}
	newByTick := map[string]int{}
	atByTick := map[string]time.Time{}
	for _, l := range logs {
		for _, tk := range schedTicks(t, l) {
			newByTick[tk.runID] += tk.new
			atByTick[tk.runID] = tk.at
		}
	}
	for k := 1; k <= 5; k++ {
		require.Contains(t, newByTick, tickID(k), "tick %d produced", k)
	}
	var wantIDs []string
	for runID, n := range newByTick {
		require.True(t, strings.HasPrefix(runID, name+"-"), runID)
		// Batches enqueued by a replica that logged the tick; the victim may
		// have enqueued some of its last tick without logging it.
		require.LessOrEqual(t, n, batches, "batches of %s enqueued as new", runID)
		// A tick after the kill is the survivors' alone, up to the fifth:
		// a later one may be cut short by their SIGTERM, unlogged.
		if at := atByTick[runID]; at.After(killed) && !at.After(start.Add(5*time.Second)) {
			require.Equal(t, batches, n, "batches of %s enqueued as new by the survivors", runID)
		}
		for seq := range batches {
			wantIDs = append(wantIDs, runID+":"+strconv.Itoa(seq))
		}
		checkTickResults(t, e, runID, count, batch)
	}
	slices.Sort(wantIDs)
	t.Logf("%d ticks produced, %d batches", len(newByTick), len(wantIDs))

	// Each batch was converted exactly once: once in the workers' logs, once
	// in asynq's completed tasks, and nothing else was.
	done := map[string]int{}
	for _, w := range []*proc{w1, w2} {
		for _, m := range regexp.MustCompile(`msg="batch done" task_id=(\S+) `).FindAllStringSubmatch(w.Logs(), -1) {
			done[m[1]]++
		}
	}
	var doneIDs []string
	for id, n := range done {
		require.Equal(t, 1, n, "conversions of %s", id)
		doneIDs = append(doneIDs, id)
	}
	slices.Sort(doneIDs)
	require.Equal(t, wantIDs, doneIDs, "batches converted")
	require.Equal(t, wantIDs, taskIDs(t, e, insp.ListCompletedTasks), "completed tasks")
	info, err := insp.GetQueueInfo(e.queue)
	require.NoError(t, err)
	require.Equal(t, len(wantIDs), info.ProcessedTotal, "tasks processed")
	require.Zero(t, info.FailedTotal, "tasks failed")

	// The system-cron way: a one-shot run with a tick's run id is that tick,
	// and enqueues nothing again.
	r := produceOK(t, e, "-run-id", tickID(3), "-count", strconv.Itoa(count), "-batch-size", strconv.Itoa(batch), "-retention", "10m")
	require.Contains(t, r.stderr, fmt.Sprintf("new=0 already_queued=0 already_done=%d", batches))
	info, err = insp.GetQueueInfo(e.queue)
	require.NoError(t, err)
	require.Equal(t, len(wantIDs), info.ProcessedTotal, "tasks processed after the one-shot run")
	require.Zero(t, info.Pending+info.Active+info.Scheduled+info.Retry+info.Archived, "tasks left to do")
	require.Equal(t, len(wantIDs), info.Completed, "finished tasks kept")
}

// --retention below a minute is refused with --schedule, naming the flag.
// Today's main accepted --retention 0s.
func TestScheduleRefusesShortRetention(t *testing.T) {
	e := setup(t)
	for _, d := range []string{"30s", "0s", "59s"} {
		// (A Redis that does not exist: a producer that let this through
		// would stop soon.)
		r := produce(t, e, "-schedule", "@every 1s", "-count", "10", "-retention", d, "-redis", "redis://127.0.0.1:1/0", "-redis-wait", "1s")
		require.Equal(t, 2, r.code, r.stderr)
		require.Contains(t, r.stderr, "--retention "+d+" is below 1m")
	}
	requireNothingEnqueued(t, e)
}

// Each tick a scheduled producer finishes is marked in Redis, with a TTL
// that covers its catch-up; a replica started later with a long --catch-up
// leaves the marked ticks alone even when their tasks are gone (expired,
// deleted), where today's main enqueued them all again.
func TestScheduledTicksMarkedAgainstRealBinary(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	insp := e.inspector(t)
	name := "mark-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	args := []string{"-schedule", "@every 1s", "-name", name, "-count", "250", "-batch-size", "100", "-retention", "1m"}

	first := startScheduler(t, e, append(args, "-catch-up", "0")...)
	redistest.WaitFor(t, 30*time.Second, "two ticks by the first replica", func() bool { return len(schedTicks(t, first.Logs())) >= 2 })
	require.Equal(t, 0, first.stop(t, syscall.SIGTERM), first.Logs())
	produced := schedTicks(t, first.Logs())
	require.GreaterOrEqual(t, len(produced), 2)
	for _, tk := range produced {
		require.Equal(t, 3, tk.new, "tick %s", tk.runID)
		key := base.TickKey(e.prefix, tk.runID)
		at, err := e.Client.Get(ctx, key).Result()
		require.NoError(t, err, "mark of %s", tk.runID)
		_, err = time.Parse(time.RFC3339, at)
		require.NoError(t, err, "the mark holds the time it was set: %q", at)
		ttl := e.Client.PTTL(ctx, key).Val()
		require.Greater(t, ttl, time.Minute, "the mark of %s outlives the tick's retention", tk.runID)
	}

	// The tasks are gone; nothing but the marks says the ticks were made.
	_, err := insp.DeleteAllPendingTasks(e.queue)
	require.NoError(t, err)
	require.Zero(t, queueState(t, e).Pending)

	// A replica with --catch-up 60 reaches back past the first replica's
	// ticks: it produces the ones nobody made and leaves those alone.
	second := startScheduler(t, e, append(args, "-catch-up", "60")...)
	redistest.WaitFor(t, 60*time.Second, "a tick on time by the second replica", func() bool {
		return strings.Contains(second.Logs(), "catch_up=false batches=")
	})
	require.Equal(t, 0, second.stop(t, syscall.SIGTERM), second.Logs())
	logs := second.Logs()
	for _, tk := range produced {
		// (A tick in the second the replica starts is due, not caught up.)
		require.Regexp(t, regexp.MustCompile(`msg="tick already produced" tick=\S+ run_id=`+tk.runID+` catch_up=`), logs)
		require.NotRegexp(t, regexp.MustCompile(`msg=tick tick=\S+ run_id=`+tk.runID+` `), logs, "tick %s produced again", tk.runID)
	}
	made := map[string]bool{}
	for _, tk := range schedTicks(t, logs) {
		made[tk.runID] = true
	}
	for _, id := range taskIDs(t, e, e.inspector(t).ListPendingTasks) {
		runID := id[:strings.LastIndexByte(id, ':')]
		require.True(t, made[runID], "task %s belongs to a tick the second replica produced", id)
	}
	require.Greater(t, len(made), 0)
}
