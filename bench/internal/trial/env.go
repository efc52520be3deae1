// Package trial runs the benchmark's trials: a fleet of worker processes on a
// queue of its own, random integers enqueued through the producer's code path,
// every batch followed until it is done, and the trial summarized with the
// CPU time and Redis commands it cost.
package trial

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"bitqueue/bench/internal/config"
	"bitqueue/bench/internal/redisstat"
	"bitqueue/bench/internal/track"
	"bitqueue/internal/base"
	"bitqueue/internal/input"
	"bitqueue/internal/rdb"
	"bitqueue/internal/redisconn"
	"bitqueue/internal/runs"
	"bitqueue/redistest"
)

// Env is what the trials of one benchmark run share: the Redis (started for
// the run unless Opts.RedisURL names one), the clients, the tracker, and the
// names of everything the run creates. Its fields are read-only.
type Env struct {
	Opts      config.Options
	Log       io.Writer // progress lines
	URL       string    // of the Redis
	Redis     string    // the Redis described: version, address, who started it
	ID        string    // names this run's queues, key prefix and run ids
	Prefix    string    // of the run's result keys
	Admin     redis.UniversalClient
	Client    *asynq.Client // the producer's, on a client the Tracker hooks
	Inspector *asynq.Inspector
	Tracker   *track.Tracker
	Events    *track.Events
	// Seed draws the random integers of every trial: a trial of n integers
	// converts the first n of input.Random(Seed, …, Opts.Max), as the peers
	// do from the file WriteNumbers writes.
	Seed uint64

	server *redistest.Server
	prod   redis.UniversalClient
	queues []string
	mu     sync.Mutex
	runSeq int
}

// Open prepares the Redis and the clients of a run. Close undoes it.
func Open(ctx context.Context, opts config.Options) (*Env, error) {
	e := &Env{Opts: opts, Log: opts.Progress}
	if e.Log == nil {
		e.Log = io.Discard
	}
	if err := e.open(ctx); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

func (e *Env) open(ctx context.Context) error {
	var buf [4]byte
	_, _ = rand.Read(buf[:])
	e.ID = "bench-" + hex.EncodeToString(buf[:])
	e.Prefix = e.ID
	e.Seed = binary.LittleEndian.Uint64(append(buf[:], buf[:]...))
	e.URL = e.Opts.RedisURL
	if e.URL == "" {
		// Loopback only, a free port, no persistence, its own directory.
		s, err := redistest.NewServer(redistest.Options{Binary: e.Opts.RedisServer})
		if err != nil {
			return fmt.Errorf("%w (install Redis 7, or pass --redis URL)", err)
		}
		e.server, e.URL = s, s.URL()
	}
	opt, err := redis.ParseURL(e.URL)
	if err != nil {
		return fmt.Errorf("--redis %s: the benchmark needs a redis:// or rediss:// URL: %v", redisconn.Redact(e.URL), err)
	}
	e.Admin = redis.NewClient(opt)
	if err := e.Admin.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis at %s: %w", redisconn.Redact(e.URL), err)
	}
	srv, err := redisstat.Info(ctx, e.Admin, "server")
	if err != nil {
		return err
	}
	if e.server != nil {
		e.Redis = fmt.Sprintf("redis-server %s started by the benchmark on %s (no persistence)", srv["redis_version"], opt.Addr)
	} else {
		e.Redis = fmt.Sprintf("redis-server %s at %s", srv["redis_version"], redisconn.Redact(e.URL))
	}
	if e.Events, err = track.NewEvents(ctx, e.Admin); err != nil {
		return err
	}
	if err := e.Events.Set(ctx, "Kh"); err != nil {
		return err
	}
	if e.Tracker, err = track.NewTracker(ctx, e.Admin, opt.DB, e.Prefix); err != nil {
		return err
	}
	popt := *opt
	popt.PoolSize = max(popt.PoolSize, e.Opts.ProducerConcurrency+2)
	e.prod = redis.NewClient(&popt)
	e.prod.AddHook(e.Tracker.Hook())
	e.Client = asynq.NewClientFromRedisClient(e.prod)
	e.Inspector = asynq.NewInspectorFromRedisClient(e.Admin)
	fmt.Fprintf(e.Log, "bench %s: %s\n", e.ID, e.Redis)
	return nil
}

// Close stops the tracker, puts the server's keyspace events back, closes
// the clients and stops the Redis it started; on a Redis it did not start, it
// first removes every queue and key of the run.
func (e *Env) Close() {
	ctx := context.Background()
	if e.Tracker != nil {
		e.Tracker.Close()
	}
	if e.Admin != nil && e.server == nil {
		// A Redis we did not start: remove every key this run made.
		for _, q := range e.queues {
			_ = e.Inspector.DeleteQueue(q, true)
			e.deleteMatching(ctx, "asynq:{"+q+"}:*")
			e.Admin.SRem(ctx, "asynq:queues", q)
		}
		e.deleteMatching(ctx, e.Prefix+":*")
	}
	if e.Events != nil {
		e.Events.Restore()
	}
	if e.Client != nil {
		e.Client.Close()
	}
	if e.prod != nil {
		e.prod.Close()
	}
	if e.Admin != nil {
		e.Admin.Close()
	}
	if e.server != nil {
		e.server.Close()
	}
}

func (e *Env) deleteMatching(ctx context.Context, pattern string) {
	iter := e.Admin.Scan(ctx, 0, pattern, 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
		if len(keys) == 1000 {
			e.Admin.Unlink(ctx, keys...)
			keys = keys[:0]
		}
	}
	if len(keys) > 0 {
		e.Admin.Unlink(ctx, keys...)
	}
}

// Queue returns a new queue of the run for trials of kind; the tracker also
// watches the task keys of an empty-handler queue.
func (e *Env) Queue(ctx context.Context, kind string) (string, error) {
	q := e.ID + "-" + kind
	e.queues = append(e.queues, q)
	if strings.Contains(kind, "empty") {
		return q, e.Tracker.WatchTasks(ctx, q)
	}
	return q, nil
}

// NextRunID returns a run id not used before in this run.
func (e *Env) NextRunID() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.runSeq++
	return e.ID + "-r" + strconv.Itoa(e.runSeq)
}

// Producer is the producer's code path, the run service, enqueueing on one
// queue (and its shards) in batches of one size.
type Producer struct {
	svc       *runs.Service
	queue     string
	shards    int
	BatchSize int
}

// NewProducer returns the producer's code path on db, enqueueing on queue
// spread over shards, in batches of batch integers, concurrency enqueues at
// once.
func NewProducer(db *rdb.RDB, queue string, shards, batch, concurrency int) Producer {
	svc, err := runs.New(runs.Config{RDB: db, MaxRetry: 10, Concurrency: concurrency, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err) // the options were checked when parsed
	}
	return Producer{svc: svc, queue: queue, shards: shards, BatchSize: batch}
}

// Producer returns the producer's code path enqueueing on queue in batches
// of batch integers.
func (e *Env) Producer(queue string, batch int) Producer {
	return NewProducer(rdb.New(e.prod, e.Prefix), queue, 1, batch, e.Opts.ProducerConcurrency)
}

// QueueOf returns the queue batch seq of run runID goes to.
func (p Producer) QueueOf(runID string, seq uint64) string {
	return base.QueueOf(p.queue, p.shards, base.TaskID(runID, seq))
}

// Enqueue enqueues run runID of the n integers of src, as the producer does.
func (p Producer) Enqueue(ctx context.Context, runID string, src input.Source, n uint64) (base.Record, error) {
	rec, _, err := p.svc.Enqueue(ctx, runs.Spec{RunID: runID, Queue: p.queue, Shards: p.shards, BatchSize: p.BatchSize, Source: src, Integers: n})
	return rec, err
}

// Wait waits until every batch of rec's run is done, as producer --wait
// does.
func (p Producer) Wait(ctx context.Context, rec base.Record) error {
	return p.svc.Wait(ctx, rec, runs.Watch{})
}
