// Package peers runs the Python programs bitqueue is compared with, doing
// bitqueue's job on the same integers with the same number of worker
// processes against the same Redis, so that a benchmark measures them in the
// same run instead of quoting figures.
//
// Two peers, their Python embedded in this package and written to a
// temporary directory for each run:
//
//   - "celery": a Celery 5 worker (prefork pool, Redis broker) whose
//     processes build the bitstring cache once each in worker_process_init,
//     and a producer sending one task per batch.
//   - "pool": a multiprocessing.Pool whose initializer builds the cache once
//     per process, fed the batches through imap.
//
// Each batch's worker stores the batch's result itself, as bitqueue's
// worker does: the hash of bitqueue's result contract (fields v, count,
// width, bits) at base.ResultKey, with its TTL, in one transaction. The
// clock starts once every worker process has built its cache (bitqueue's
// workers, too, are started before its producer), includes reading the
// integers file, and stops once every batch's result key exists.
package peers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"bitqueue/bench/internal/config"
)

// Celery and Pool name the peers Config.Peer accepts, and Result.Peer reports.
const (
	Celery = "celery"
	Pool   = "pool"
)

// Result is what one run of a peer measured.
type Result struct {
	Peer    string
	RunID   string
	Wall    time.Duration // from the start (caches built) to the last result in Redis
	Ints    int           // integers converted
	Batches int           // batches, one result each
	// CPU is the user and system time of the peer's processes (producer,
	// worker and its forked processes, not Redis) over Wall.
	CPU      time.Duration
	Versions string // of Python and the modules the peer used
}

// Run runs one peer on cfg.Numbers and returns what it measured. It starts
// the peer's processes and stops them (their whole process groups) before it
// returns, on success, failure or timeout alike, and deletes the keys the run
// wrote (but its results when cfg.KeepResults).
func Run(ctx context.Context, cfg Config) (res Result, err error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return Result{}, err
	}
	if err := check(ctx, cfg.Python); err != nil {
		return Result{}, err
	}
	ctx, cancel := context.WithTimeoutCause(ctx, cfg.Timeout, fmt.Errorf("peer %s: timed out after %s", cfg.Peer, cfg.Timeout))
	defer cancel()
	numbers, err := filepath.Abs(cfg.Numbers)
	if err != nil {
		return Result{}, err
	}
	dir, err := writeScripts()
	if err != nil {
		return Result{}, fmt.Errorf("peers: %w", err)
	}
	defer os.RemoveAll(dir)

	opt, _ := redis.ParseURL(cfg.RedisURL) // validated
	client := redis.NewClient(opt)
	defer client.Close()
	if err := client.Ping(ctx).Err(); err != nil {
		return Result{}, fmt.Errorf("peers: Redis at %s: %w", cfg.RedisURL, err)
	}
	k := keys{prefix: cfg.Prefix, runID: cfg.RunID}
	// A run that died before cleaning up under the same run id would leave
	// ready processes counted and results that seem written already.
	if err := k.clean(ctx, client, false); err != nil {
		return Result{}, fmt.Errorf("peers: delete keys of an earlier run %s: %w", cfg.RunID, err)
	}
	defer func() {
		if cerr := k.clean(context.WithoutCancel(ctx), client, cfg.KeepResults); cerr != nil && err == nil {
			err = fmt.Errorf("peers: delete the run's keys: %w", cerr)
		}
	}()

	env := append(config.ProcessEnv(),
		"PYTHONPATH="+dir,
		"PYTHONDONTWRITEBYTECODE=1",
		"BQ_REDIS_URL="+cfg.RedisURL,
		"BQ_QUEUE="+cfg.Queue,
		"BQ_KEYPREFIX="+k.celeryPrefix(),
		"BQ_READY_KEY="+k.ready(),
		"BQ_TTL_MS="+strconv.FormatInt(cfg.TTL.Milliseconds(), 10),
		"BQ_CACHE_BITS="+strconv.Itoa(cfg.CacheBits),
	)
	var groups []int
	var args []string
	switch cfg.Peer {
	case Celery:
		w, err := start("celery worker", dir, env, cfg.Python, "-m", "celery", "--app", "celery_job", "worker",
			"--pool", "prefork", "--concurrency", strconv.Itoa(cfg.Workers), "--queues", cfg.Queue,
			"--loglevel", "WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat")
		if err != nil {
			return Result{}, err
		}
		defer w.stop(10 * time.Second)
		// Each forked process counts itself once its cache is built, and
		// the worker once it consumes.
		if err := waitReady(ctx, client, k.ready(), int64(cfg.Workers+1), w); err != nil {
			return Result{}, err
		}
		groups = append(groups, w.pgid())
		args = []string{"celery_job.py", numbers, strconv.Itoa(cfg.BatchSize), k.resultBase()}
	case Pool:
		args = []string{"pool_job.py", cfg.RedisURL, numbers, strconv.Itoa(cfg.BatchSize), strconv.Itoa(cfg.Workers),
			k.resultBase(), strconv.FormatInt(cfg.TTL.Milliseconds(), 10), strconv.Itoa(cfg.CacheBits)}
	}

	p, err := start(cfg.Peer+" producer", dir, env, cfg.Python, args...)
	if err != nil {
		return Result{}, err
	}
	defer p.stop(10 * time.Second)
	groups = append(groups, p.pgid())
	if l, err := p.readLine(ctx); err != nil {
		return Result{}, err
	} else if l != `{"ready": true}` {
		return Result{}, fmt.Errorf("peers: %s printed %q, want its ready line", p.name, l)
	}
	cpu0, err := groupCPU(groups...)
	if err != nil {
		return Result{}, fmt.Errorf("peers: %w", err)
	}
	if _, err := p.stdin.Write([]byte("go\n")); err != nil {
		return Result{}, fmt.Errorf("peers: start %s: %w", p.name, err)
	}
	line, err := p.readLine(ctx)
	if err != nil {
		return Result{}, err
	}
	cpu1, err := groupCPU(groups...)
	if err != nil {
		return Result{}, fmt.Errorf("peers: %w", err)
	}
	p.stdin.Close() // the producer exits at the end of its input
	if res, err = parseReport(line); err != nil {
		return Result{}, fmt.Errorf("peers: %s: %w", p.name, err)
	}
	res.RunID, res.CPU = cfg.RunID, cpu1-cpu0
	if res.Peer != cfg.Peer || res.Ints < 1 || res.Batches != (res.Ints+cfg.BatchSize-1)/cfg.BatchSize {
		return Result{}, fmt.Errorf("peers: %s reported %d integers in %d batches as peer %q: not %d-integer batches of peer %q",
			p.name, res.Ints, res.Batches, res.Peer, cfg.BatchSize, cfg.Peer)
	}
	select {
	case <-p.done:
		if p.err != nil {
			return Result{}, p.exited()
		}
	case <-ctx.Done():
		return Result{}, fmt.Errorf("peers: waiting for %s to exit: %w", p.name, context.Cause(ctx))
	}
	return res, nil
}

// waitReady returns once key counts n, or with an error when w exits first.
func waitReady(ctx context.Context, c *redis.Client, key string, n int64, w *proc) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		got, err := c.Get(ctx, key).Int64()
		switch {
		case err == nil && got >= n:
			return nil
		case err != nil && !errors.Is(err, redis.Nil) && ctx.Err() == nil:
			return fmt.Errorf("peers: read %s: %w", key, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("peers: waiting for %s to be ready (%d of %d processes): %w; its log: %s",
				w.name, got, n, context.Cause(ctx), w.errs.String())
		case <-w.done:
			return w.exited()
		case <-tick.C:
		}
	}
}
