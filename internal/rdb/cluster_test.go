package rdb_test

import (
	"bitqueue/internal/base"
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/rdb"
	"bitqueue/redistest"
)

// TestAsynqOnCluster records which asynq v0.26.0 operations work on a real
// three-master Redis Cluster, with the queues of one sharded queue spread
// over every master: those bitqueue relies on and the common others. Every key of a queue carries the
// queue's hash tag ({bits-0}), so each script touches one slot; asynq's
// global keys (asynq:queues, asynq:servers, asynq:workers) are single keys
// written outside the scripts. What does not work is a transaction or script
// across slots, which bitqueue never issues.
func TestAsynqOnCluster(t *testing.T) {
	t.Parallel()
	cl := redistest.StartCluster(t, 3, "")
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{cl.Nodes[0].Addr}})
	t.Cleanup(func() { cc.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	queues := spreadQueues(t, ctx, cc, "bits", 6)
	// Three queues are not enough: bits-0 and bits-1 hash to slots of the
	// same master (10957 and 15084; bits-2 to 2703).
	few, _, err := rdb.New(cc, "").Place(ctx, base.Queues("bits", 3))
	require.NoError(t, err)
	require.Len(t, few.Idle, 1, "masters without a queue: %v", few.Queues)

	client := asynq.NewClientFromRedisClient(cc)
	insp := asynq.NewInspectorFromRedisClient(cc)
	for _, q := range queues {
		_, err := client.EnqueueContext(ctx, asynq.NewTask("t:ok", []byte(q)), asynq.Queue(q), asynq.TaskID("ok-"+q))
		require.NoError(t, err, "enqueue on %s", q)
		_, err = client.EnqueueContext(ctx, asynq.NewTask("t:ok", []byte(q)), asynq.Queue(q), asynq.TaskID("ok-"+q))
		require.ErrorIs(t, err, asynq.ErrTaskIDConflict, "a duplicate task id on %s", q)
		_, err = client.EnqueueContext(ctx, asynq.NewTask("t:fail", nil), asynq.Queue(q), asynq.TaskID("fail-"+q), asynq.MaxRetry(1))
		require.NoError(t, err)
		_, err = client.EnqueueContext(ctx, asynq.NewTask("t:ok", nil), asynq.Queue(q), asynq.ProcessIn(200*time.Millisecond))
		require.NoError(t, err, "schedule on %s", q)
		_, err = client.EnqueueContext(ctx, asynq.NewTask("t:result", nil), asynq.Queue(q), asynq.TaskID("result-"+q), asynq.Retention(time.Hour))
		require.NoError(t, err, "enqueue with retention on %s", q)
		_, err = client.EnqueueContext(ctx, asynq.NewTask("t:ok", []byte("unique")), asynq.Queue(q), asynq.Unique(time.Hour))
		require.NoError(t, err, "unique enqueue on %s", q)
		_, err = client.EnqueueContext(ctx, asynq.NewTask("t:ok", []byte("unique")), asynq.Queue(q), asynq.Unique(time.Hour))
		require.ErrorIs(t, err, asynq.ErrDuplicateTask, "a duplicate unique task on %s", q)
		for i := range 2 {
			_, err = client.EnqueueContext(ctx, asynq.NewTask("t:ok", []byte{byte(i)}), asynq.Queue(q), asynq.Group("g"))
			require.NoError(t, err, "enqueue in a group on %s", q)
		}
	}

	var ok, failed, aggregated, scheduled atomic.Int64
	mux := asynq.NewServeMux()
	mux.HandleFunc("t:ok", func(context.Context, *asynq.Task) error { ok.Add(1); return nil })
	mux.HandleFunc("t:aggregated", func(context.Context, *asynq.Task) error { aggregated.Add(1); return nil })
	mux.HandleFunc("t:scheduled", func(context.Context, *asynq.Task) error { scheduled.Add(1); return nil })
	mux.HandleFunc("t:fail", func(context.Context, *asynq.Task) error { failed.Add(1); return errors.New("boom") })
	mux.HandleFunc("t:result", func(_ context.Context, t *asynq.Task) error {
		ok.Add(1)
		_, err := t.ResultWriter().Write([]byte("done"))
		return err
	})
	queueMap := map[string]int{}
	for _, q := range queues {
		queueMap[q] = 1
	}
	srv := asynq.NewServerFromRedisClient(cc, asynq.Config{
		Queues:            queueMap,
		Concurrency:       4,
		TaskCheckInterval: 20 * time.Millisecond,
		RetryDelayFunc:    func(int, error, *asynq.Task) time.Duration { return 50 * time.Millisecond },
		LogLevel:          asynq.FatalLevel,
		GroupAggregator: asynq.GroupAggregatorFunc(func(string, []*asynq.Task) *asynq.Task {
			return asynq.NewTask("t:aggregated", nil)
		}),
		GroupGracePeriod: time.Second,
		GroupMaxDelay:    2 * time.Second,
	})
	require.NoError(t, srv.Start(mux))
	t.Cleanup(srv.Shutdown)
	sched := asynq.NewSchedulerFromRedisClient(cc, &asynq.SchedulerOpts{LogLevel: asynq.FatalLevel})
	_, err = sched.Register("@every 1s", asynq.NewTask("t:scheduled", nil), asynq.Queue(queues[0]))
	require.NoError(t, err)
	require.NoError(t, sched.Start())
	t.Cleanup(sched.Shutdown)

	// Processing, retries, scheduling, archiving, unique tasks, groups and
	// the scheduler, on every queue.
	n := int64(len(queues))
	waitFor(t, ctx, "every task processed, the failing ones archived", func() bool {
		for _, q := range queues {
			info, err := insp.GetQueueInfo(q)
			if err != nil || info.Archived != 1 || info.Completed != 1 || info.Pending+info.Active+info.Scheduled+info.Retry+info.Aggregating != 0 {
				return false
			}
		}
		return failed.Load() == 2*n && aggregated.Load() == n && scheduled.Load() > 0
	})
	sched.Shutdown()
	require.Equal(t, 4*n, ok.Load(), "ok, delayed, result and unique tasks")
	require.Equal(t, 2*n, failed.Load(), "a failing task runs once and retries once")
	entries, err := insp.SchedulerEntries()
	require.NoError(t, err)
	require.Empty(t, entries, "the scheduler removed its entry on shutdown")

	// The Inspector, queue by queue.
	names, err := insp.Queues()
	require.NoError(t, err)
	require.ElementsMatch(t, queues, names)
	servers, err := insp.Servers()
	require.NoError(t, err)
	require.Len(t, servers, 1)
	for _, q := range queues {
		archived, err := insp.ListArchivedTasks(q)
		require.NoError(t, err)
		require.Len(t, archived, 1)
		require.Equal(t, "fail-"+q, archived[0].ID)
		require.Equal(t, "boom", archived[0].LastErr)
		info, err := insp.GetTaskInfo(q, "result-"+q)
		require.NoError(t, err)
		require.Equal(t, "done", string(info.Result))
		_, err = insp.History(q, 1)
		require.NoError(t, err)
		require.NoError(t, insp.PauseQueue(q))
		require.NoError(t, insp.UnpauseQueue(q))
		require.NoError(t, insp.RunTask(q, "fail-"+q), "run an archived task again")
		nodes, err := insp.ClusterNodes(q)
		require.NoError(t, err)
		require.Len(t, nodes, 1, "one master, no replica")
	}
	waitFor(t, ctx, "the re-run tasks archived again", func() bool {
		for _, q := range queues {
			if info, err := insp.GetQueueInfo(q); err != nil || info.Archived != 1 || info.Pending+info.Active+info.Retry != 0 {
				return false
			}
		}
		return true
	})

	// A result is one hash written with its TTL in MULTI/EXEC: one key, one
	// slot, fine. A transaction over two slots is refused.
	_, err = cc.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, "bitqueue:result:run:0")
		p.HSet(ctx, "bitqueue:result:run:0", "v", 1)
		p.PExpire(ctx, "bitqueue:result:run:0", time.Minute)
		return nil
	})
	require.NoError(t, err)
	_, err = cc.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, "bitqueue:result:run:0", 1, time.Minute)
		p.Set(ctx, "bitqueue:result:run:1", 1, time.Minute)
		return nil
	})
	require.ErrorContains(t, err, "CROSSSLOT")

	srv.Shutdown()
	for _, q := range queues {
		require.NoError(t, insp.DeleteQueue(q, true))
	}
}

// spreadQueues returns the queues of queue sharded n ways after checking that
// they cover every master of the cluster.
func spreadQueues(t *testing.T, ctx context.Context, cc *redis.ClusterClient, queue string, n int) []string {
	t.Helper()
	queues := base.Queues(queue, n)
	p, _, err := rdb.New(cc, "").Place(ctx, queues)
	require.NoError(t, err)
	require.Len(t, p.Queues, 3, "masters")
	require.Empty(t, p.Idle, "queues %v on masters %v", queues, p.Queues)
	return queues
}

// waitFor polls cond every 50 ms until it holds, failing t when ctx ends.
func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("%s: %v", what, fmt.Errorf("gave up waiting: %w", ctx.Err()))
		case <-time.After(50 * time.Millisecond):
		}
	}
}
