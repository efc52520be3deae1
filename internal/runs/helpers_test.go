package runs_test

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"bitqueue/fixture"
	"bitqueue/internal/base"
	"bitqueue/internal/input"
	"bitqueue/internal/rdb"
	"bitqueue/internal/runs"
	"bitqueue/internal/tasks"
	"bitqueue/redistest"
)

// env is a run service on the test's Redis, under a queue and key prefix of
// the test's own, with the batch size and task options most tests use.
type env struct {
	r             *redistest.Redis
	queue, prefix string
	db            *rdb.RDB
	svc           *runs.Service
	batchSize     int
}

// newEnv returns the env of a test, its service built from cfg with the
// test defaults for what cfg leaves zero: one retry, four enqueues at once,
// records kept an hour, lost batches looked for after an hour; batches of
// one integer.
func newEnv(t *testing.T, cfg runs.Config) *env {
	t.Helper()
	r := redistest.Start(t)
	queue, prefix := r.Namespace(t)
	return envOn(t, r, queue, prefix, r.Client, cfg)
}

// envOn returns the env of queue and prefix on r, its service sending its
// commands through client.
func envOn(t *testing.T, r *redistest.Redis, queue, prefix string, client redis.UniversalClient, cfg runs.Config) *env {
	t.Helper()
	e := &env{r: r, queue: queue, prefix: prefix, db: rdb.New(client, prefix), batchSize: 1}
	cfg.RDB = e.db
	cfg.MaxRetry = cmp.Or(cfg.MaxRetry, 1)
	cfg.Concurrency = cmp.Or(cfg.Concurrency, 4)
	cfg.RecordTTL = cmp.Or(cfg.RecordTTL, time.Hour)
	cfg.LostAfter = cmp.Or(cfg.LostAfter, time.Hour)
	cfg.Logger = cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler))
	var err error
	e.svc, err = runs.New(cfg)
	require.NoError(t, err)
	return e
}

// spec is the run runID of the total integers of src, on e's queue in
// batches of e.batchSize.
func (e *env) spec(runID string, src input.Source, total uint64) runs.Spec {
	return runs.Spec{RunID: runID, Queue: e.queue, BatchSize: e.batchSize, Source: src, Integers: total}
}

// enqueue enqueues the run of spec, failing t on an error.
func (e *env) enqueue(t *testing.T, runID string, src input.Source, total uint64) (base.Record, runs.EnqueueStats) {
	t.Helper()
	rec, st, err := e.svc.Enqueue(context.Background(), e.spec(runID, src, total))
	require.NoError(t, err)
	return rec, st
}

// createRecord creates the record of runID, of the total integers of src,
// as the run's first producer would: a run begun earlier. edits change the
// record before it is written.
func (e *env) createRecord(t *testing.T, runID string, src input.Source, total uint64, edits ...func(*base.Record)) base.Record {
	t.Helper()
	identity, err := src.Identity()
	require.NoError(t, err)
	now := time.Now()
	rec := base.Record{
		RunID: runID, Queue: e.queue, Shards: 1, Batches: base.Batches(total, e.batchSize), Integers: total,
		BatchSize: e.batchSize, Input: identity, Created: now, Updated: now,
	}
	for _, edit := range edits {
		edit(&rec)
	}
	have, created, err := e.db.CreateRecord(context.Background(), rec, time.Hour)
	require.NoError(t, err)
	require.True(t, created, "record of %s existed: %+v", runID, have)
	return rec
}

// save stores the result of batch seq of runID holding nums, as a worker
// does, and marks it done.
func (e *env) save(t *testing.T, runID string, seq uint64, nums ...uint64) {
	t.Helper()
	require.NoError(t, e.db.SaveResults(context.Background(), time.Hour, []rdb.Batch{{RunID: runID, Seq: seq, Result: fixture.Result(t, nums...)}}))
}

// batchEnqueuer returns a function that enqueues, with e's RDB, batch seq of
// runID, holding the one integer seq, on the queue queueOf names for it,
// with opts.
func (e *env) batchEnqueuer(t *testing.T, runID string, queueOf func(seq uint64) string) func(seq uint64, opts ...asynq.Option) {
	return func(seq uint64, opts ...asynq.Option) {
		t.Helper()
		task, err := tasks.NewBitsTask(base.Batch{RunID: runID, Seq: seq, Nums: []uint64{seq}}, append([]asynq.Option{asynq.Queue(queueOf(seq))}, opts...)...)
		require.NoError(t, err)
		_, err = e.db.Enqueue(context.Background(), task)
		require.NoError(t, err)
	}
}

// waitUntil polls cond every 20 ms until it holds, failing t when ctx ends
// first.
func waitUntil(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("gave up waiting for %s: %v", what, ctx.Err())
		case <-tick.C:
		}
	}
}

// unpauseAtEnd resumes queue when t ends: a shard's pause mark is not among
// the keys the test's namespace clean-up deletes.
func unpauseAtEnd(t *testing.T, insp *asynq.Inspector, queue string) {
	t.Helper()
	t.Cleanup(func() { _ = insp.UnpauseQueue(queue) })
}

// startServer starts an asynq server serving queue on r, as a worker does,
// and returns it; it is shut down at the end of the test. It returns once
// the server is listed among asynq's servers.
func startServer(t *testing.T, r *redistest.Redis, queue string) *asynq.Server {
	t.Helper()
	srv := asynq.NewServerFromRedisClient(r.Client, asynq.Config{
		Queues:      map[string]int{queue: 1},
		Concurrency: 1,
		LogLevel:    asynq.FatalLevel,
	})
	require.NoError(t, srv.Start(asynq.HandlerFunc(func(context.Context, *asynq.Task) error { return nil })))
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			srv.Shutdown()
		}
	})
	insp := asynq.NewInspectorFromRedisClient(r.Client)
	require.NoError(t, redistest.Await(30*time.Second, "the server listed", func() bool {
		servers, err := insp.Servers()
		return err == nil && slices.ContainsFunc(servers, func(s *asynq.ServerInfo) bool { _, ok := s.Queues[queue]; return ok })
	}))
	return srv
}
