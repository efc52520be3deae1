package e2e

import (
	"bitqueue/internal/base"
	"context"
	"net/http"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/rdb"
	"bitqueue/redistest"
)

// TestClusterShards spreads one run over a three-master Redis Cluster: the
// producer places each batch on one of six queues by a hash of its id, two
// workers consume all six, and every master ends up holding queues it
// processed batches from and results, every one of them correct.
func TestClusterShards(t *testing.T) {
	t.Parallel()
	const shards = 6
	cl := redistest.StartCluster(t, 3, redisPassword)
	ctx := context.Background()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{cl.Nodes[0].Addr}, Password: redisPassword})
	t.Cleanup(func() { cc.Close() })

	// A queue name whose six shards cover every master (asynq keeps each
	// queue on the master of its hash tag's slot).
	var d deployment
	for range 100 {
		d = newDeployment("redis-cluster://" + cl.Addrs()).with("REDIS_PASSWORD=" + redisPassword)
		p, _, err := rdb.New(cc, "").Place(ctx, base.Queues(d.queue, shards))
		require.NoError(t, err)
		if len(p.Idle) == 0 {
			break
		}
	}

	w1 := d.startWorker(t, "-shards", "6")
	w2 := d.startWorker(t, "-shards", "6")
	require.Contains(t, w1.Logs(), d.queue+"-5", "the worker pulls from every shard")
	nums := testNumbers(60_000)
	r := d.requireRun(t, nums, "-shards", "6", "-batch-size", "500", "-run-id", "cluster-run")
	require.Contains(t, r.stderr, `msg="cluster master"`)
	require.NotContains(t, r.stderr, "take no part")
	for _, w := range []*proc{w1, w2} {
		require.Equal(t, 0, w.stop(t, syscall.SIGTERM))
		require.Contains(t, w.Logs(), `msg="batch done"`, "worker %d processed no batch", w.Pid())
		requireNoPassword(t, "worker logs", w.Logs())
	}
	requireNoPassword(t, "producer output", r.stderr)

	// Each master holds results and processed batches from its queues.
	total := 0
	for _, node := range cl.Nodes {
		c := node.ClientT(t)
		results := countKeys(t, c, d.prefix+":result:cluster-run:*")
		processed := 0
		for _, key := range scanKeys(t, c, "asynq:{"+d.queue+"-*}:processed") {
			n, err := c.Get(ctx, key).Int()
			require.NoError(t, err)
			processed += n
		}
		t.Logf("master %s: %d results, %d batches processed from its queues", node.Addr, results, processed)
		require.Positive(t, results, "results on %s", node.Addr)
		require.Positive(t, processed, "batches processed from the queues on %s", node.Addr)
		total += results
	}
	require.Equal(t, 120, total, "one result per batch")

	// A re-run finds every result and enqueues nothing.
	again := d.requireRun(t, nums, "-shards", "6", "-batch-size", "500", "-run-id", "cluster-run")
	require.Contains(t, again.stderr, "new=0 already_queued=0 already_done=120")

	// A worker is ready while every master answers, and not once one is down.
	w := d.startWorker(t, "-shards", "6", "-http-addr", "127.0.0.1:0")
	m := regexp.MustCompile(`msg="http listening" addr=(\S+)`).FindStringSubmatch(w.Logs())
	require.NotNil(t, m, "the worker logs its HTTP address")
	readyz := "http://" + m[1] + "/readyz"
	redistest.WaitFor(t, 30*time.Second, "ready", func() bool { return httpStatus(readyz) == http.StatusOK })
	cl.Nodes[1].Kill()
	redistest.WaitFor(t, time.Minute, "not ready with a master down", func() bool { return httpStatus(readyz) == http.StatusServiceUnavailable })
}

// httpStatus returns the status code of a GET of url, 0 when it fails.
func httpStatus(url string) int {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func scanKeys(t *testing.T, c *redis.Client, pattern string) []string {
	t.Helper()
	var keys []string
	iter := c.Scan(context.Background(), 0, pattern, 1000).Iterator()
	for iter.Next(context.Background()) {
		keys = append(keys, iter.Val())
	}
	require.NoError(t, iter.Err())
	return keys
}

func countKeys(t *testing.T, c *redis.Client, pattern string) int {
	t.Helper()
	return len(scanKeys(t, c, pattern))
}
