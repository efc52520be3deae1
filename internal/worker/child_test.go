package worker_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/redisconn"
	"bitqueue/internal/worker"
	"bitqueue/redistest"
)

// A child is this test binary re-executed as one worker process; TestMain
// sends it to runChild when childEnv is set. Its settings come in env.
const (
	childEnv       = "BITQUEUE_WORKER_CHILD" // "fail-hook" or "ok-hook"
	childRedisEnv  = "BITQUEUE_CHILD_REDIS_URL"
	childQueueEnv  = "BITQUEUE_CHILD_QUEUE"
	childMarkerEnv = "BITQUEUE_CHILD_MARKER" // file the handler appends each task id to
	childTasksEnv  = "BITQUEUE_CHILD_TASKS"  // ok-hook: stop after handling this many tasks

	// childHookReason is why the fail-hook child's hook fails.
	childHookReason = "model file /nonexistent/model.bin is missing"
)

// runChild is the whole life of a child worker process; it returns the exit
// code: 1 when Serve fails, as a real worker exits.
func runChild(mode string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	url, queue, marker := os.Getenv(childRedisEnv), os.Getenv(childQueueEnv), os.Getenv(childMarkerEnv)
	want, _ := strconv.Atoi(os.Getenv(childTasksEnv))
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	db, err := redisconn.Setup{URL: url, PoolSize: 10}.Open()
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		return 2
	}
	defer db.Close()

	var hook worker.Hook[int]
	switch mode {
	case "fail-hook":
		hook = worker.HookFunc[int](func(context.Context) (int, error) { return 0, errors.New(childHookReason) })
	case "ok-hook":
		hook = worker.HookFunc[int](func(context.Context) (int, error) { return 7, nil })
	default:
		fmt.Fprintf(os.Stderr, "worker: unknown child mode %q\n", mode)
		return 2
	}
	var handled atomic.Int32
	newHandler := func(int) asynq.Handler {
		return asynq.HandlerFunc(func(ctx context.Context, _ *asynq.Task) error {
			id, _ := asynq.GetTaskID(ctx)
			f, err := os.OpenFile(marker, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
			if err != nil {
				return err
			}
			defer f.Close()
			if _, err := fmt.Fprintln(f, id); err != nil {
				return err
			}
			if int(handled.Add(1)) == want {
				cancel() // shuts Serve down once this task is done
			}
			return nil
		})
	}
	err = worker.Serve(ctx, worker.Config{
		RDB:             db,
		RedisURL:        url,
		RedisWait:       5 * time.Second,
		Queues:          []string{queue},
		Concurrency:     4,
		ShutdownTimeout: 5 * time.Second,
		PollInterval:    10 * time.Millisecond,
		Logger:          log,
	}, hook, newHandler)
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		return 1
	}
	if int(handled.Load()) != want {
		fmt.Fprintf(os.Stderr, "worker: handled %d tasks, want %d\n", handled.Load(), want)
		return 3
	}
	return 0
}

// startChild runs a child worker process in mode to completion and returns
// its exit code and standard error.
func startChild(t *testing.T, mode string, r *redistest.Redis, queue, marker string, tasks int) (code int, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		childEnv+"="+mode,
		childRedisEnv+"="+r.URL,
		childQueueEnv+"="+queue,
		childMarkerEnv+"="+marker,
		childTasksEnv+"="+strconv.Itoa(tasks),
	)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	t.Logf("child %s: %v\nstdout:\n%s\nstderr:\n%s", mode, err, out.String(), errOut.String())
	require.NoError(t, ctx.Err(), "child %s did not exit in time", mode)
	if err != nil {
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee, "child %s did not run", mode)
	}
	return cmd.ProcessState.ExitCode(), errOut.String()
}

// TestFailingHookExitsWithoutPullingTasks runs a worker process whose hook
// fails: it must exit 1 naming the hook's reason, leaving every task pending
// and its handler never run. A second process with a working hook then shows
// the same setup does process the tasks.
func TestFailingHookExitsWithoutPullingTasks(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	queue, _ := r.Namespace(t)
	const tasks = 5
	ids := enqueue(t, r, queue, "child", tasks)
	marker := filepath.Join(t.TempDir(), "handled")

	code, stderr := startChild(t, "fail-hook", r, queue, marker, tasks)
	require.Equal(t, 1, code, "exit code of a worker whose hook fails")
	require.Contains(t, stderr, "startup hook")
	require.Contains(t, stderr, childHookReason)
	require.NoFileExists(t, marker, "the handler ran")
	info := queueInfo(t, r, queue)
	require.Equal(t, tasks, info.Pending, "pending tasks")
	require.Zero(t, info.Active, "active tasks")
	require.Zero(t, info.Completed, "completed tasks")
	require.Zero(t, info.Retry, "tasks to retry")
	require.Zero(t, info.Archived, "archived tasks")
	require.Zero(t, info.Processed, "processed tasks")

	// Control: the same child with a hook that works takes every task.
	code, _ = startChild(t, "ok-hook", r, queue, marker, tasks)
	require.Equal(t, 0, code, "exit code of a worker that handled every task")
	got, err := os.ReadFile(marker)
	require.NoError(t, err)
	lines := strings.Fields(string(got))
	slices.Sort(lines)
	require.Equal(t, ids, lines, "tasks the working child handled")
	require.True(t, queueDrained(t, r, queue), "queue empty after the working child")
}
