package e2e

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/base"
	"bitqueue/redistest"
)

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
	for _, id := range pendingIDs(t, e) {
		runID := id[:strings.LastIndexByte(id, ':')]
		require.True(t, made[runID], "task %s belongs to a tick the second replica produced", id)
	}
	require.Greater(t, len(made), 0)
}
