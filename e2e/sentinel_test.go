package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/redistest"
)

const sentinelPassword = "e2e-sentinel-Pa55word-do-not-log"

// TestSentinelFailover runs the fleet through a sentinel, kills the master
// with SIGKILL in the middle of the run, and checks that the sentinel
// promotes the replica and the run completes on it with every result
// correct. Batches the dead master held in flight, or whose completion it
// never passed to the replica, come back when asynq's 30 s lease on them
// expires (its recoverer looks once a minute), so the run takes a minute or
// two after the kill.
func TestSentinelFailover(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("takes 30 s to 2 minutes (batches in flight at the kill wait for asynq's lease expiry); run without -short")
	}
	f := redistest.StartFailover(t, redisPassword, sentinelPassword)
	d := newDeployment("redis-sentinel://"+f.Sentinel.Addr+"/0?master="+redistest.MasterName).
		with("REDIS_PASSWORD="+redisPassword, "REDIS_SENTINEL_PASSWORD="+sentinelPassword)
	ctx := context.Background()
	master := f.Master.ClientT(t)

	// Enqueue the whole run and let the replica catch up before any worker
	// starts: an enqueue the replica never saw would be lost with the master
	// (replication is asynchronous; see docs/redis.md).
	nums := testNumbers(200_000)
	const batch, batches = 10, 20_000
	out := filepath.Join(t.TempDir(), "out.tsv")
	prod := d.startProducer(t, "-input", writeInput(t, nums), "-batch-size", fmt.Sprint(batch), "-run-id", "failover-run",
		"-wait", "-timeout", "4m", "-out", out, "-redis-wait", "1m")
	redistest.WaitFor(t, time.Minute, "the run enqueued", func() bool { return strings.Contains(prod.Logs(), "msg=enqueued") })
	redistest.WaitFor(t, time.Minute, "the replica to acknowledge every write", func() bool {
		synced, err := master.Do(ctx, "WAIT", 1, 1000).Int() // within the client's 3 s read timeout
		return err == nil && synced == 1
	})

	w1 := d.startWorker(t, "-concurrency", "1")
	w2 := d.startWorker(t, "-concurrency", "1")
	redistest.WaitFor(t, time.Minute, "some batches done", func() bool {
		return countKeys(t, master, d.prefix+":result:failover-run:*") >= batches/20
	})
	done := countKeys(t, master, d.prefix+":result:failover-run:*")
	require.Less(t, done, batches, "the run is still going when the master dies")
	f.Master.Kill()
	t.Logf("master %s killed with %d of %d batches done", f.Master.Addr, done, batches)

	redistest.WaitFor(t, time.Minute, "the sentinel to promote the replica", func() bool {
		addr, err := f.MasterAddr(ctx)
		return err == nil && addr == f.Replica.Addr
	})
	start := time.Now()
	// Batches in flight at the kill are orphaned under their leases.
	promoted := env{Redis: &redistest.Redis{Client: f.Replica.ClientT(t)}, queue: d.queue, prefix: d.prefix}
	recoverOrphansWith(t, promoted, func() *proc { return d.startWorker(t, "-concurrency", "1") })
	code := prod.exitCode(t, 5*time.Minute)
	require.Equal(t, 0, code, "producer failed:\n%s", prod.Logs())
	t.Logf("run completed %s after the failover", time.Since(start).Round(time.Second))
	checkOut(t, out, nums)

	replica := f.Replica.ClientT(t)
	require.Equal(t, batches, countKeys(t, replica, d.prefix+":result:failover-run:*"), "every result on the new master")
	for _, w := range []*proc{w1, w2} {
		require.NotContains(t, w.Logs(), "msg=\"worker stopped\"")
		require.Contains(t, w.Logs(), `msg="batch done"`)
		requireNoPassword(t, "worker logs", w.Logs())
	}
	requireNoPassword(t, "producer logs", prod.Logs())
	// The workers still serve, now from the new master.
	more := testNumbers(2000)
	d.requireRun(t, more, "-batch-size", "100", "-run-id", "after-failover")
}

// startProducer starts the producer on d in the background; its stdout and
// stderr go to the returned process's logs.
func (d deployment) startProducer(t *testing.T, args ...string) *proc {
	t.Helper()
	return spawn(t, d.command("producer", args...))
}
