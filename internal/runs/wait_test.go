package runs_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/base"
	"bitqueue/internal/input"
	"bitqueue/internal/runs"
	"bitqueue/redistest"
)

// commandCounter is a go-redis hook that counts, by name, the commands a
// client sends on keys under prefix: bitqueue's own, not asynq's, pipelined
// ones included.
type commandCounter struct {
	prefix string
	mu     sync.Mutex
	counts map[string]int
}

func (c *commandCounter) add(cmds ...redis.Cmder) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cmd := range cmds {
		if slices.ContainsFunc(cmd.Args(), func(a any) bool { s, ok := a.(string); return ok && strings.HasPrefix(s, c.prefix+":") }) {
			c.counts[strings.ToLower(cmd.Name())]++
		}
	}
}

func (c *commandCounter) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.counts))
	for k, v := range c.counts {
		out[k] = v
	}
	return out
}

func (c *commandCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *commandCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.add(cmd)
		return next(ctx, cmd)
	}
}

func (c *commandCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.add(cmds...)
		return next(ctx, cmds)
	}
}

// TestWaitPollIsOneCommand pins what a poll of Wait costs Redis: whatever
// the number of batches (10 or 10,000, none of them done but a few), every
// command Wait sends on bitqueue's keys is one BITCOUNT, one per poll. The
// archive check goes to asynq's keys, through the inspector: a queue lookup
// per queue, about once a second.
func TestWaitPollIsOneCommand(t *testing.T) {
	t.Parallel()
	for _, batches := range []int{10, 10_000} {
		r := redistest.Start(t)
		queue, prefix := r.Namespace(t)
		counter := &commandCounter{prefix: prefix, counts: map[string]int{}}
		opt, err := redis.ParseURL(r.URL)
		require.NoError(t, err)
		counted := redis.NewClient(opt)
		t.Cleanup(func() { counted.Close() })
		counted.AddHook(counter)
		e := envOn(t, r, queue, prefix, counted, runs.Config{})
		ctx := context.Background()
		for _, seq := range []uint64{0, 3, 7} {
			e.save(t, "polled", seq, seq)
		}
		before := counter.snapshot()

		// The wait ends by its deadline: what the test counts is the
		// commands of the polls it made meanwhile, however many.
		waitCtx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
		rec := base.Record{RunID: "polled", Queue: queue, Shards: 1, Batches: batches, Integers: uint64(batches), BatchSize: 1}
		err = e.svc.Wait(waitCtx, rec, runs.Watch{})
		cancel()
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.ErrorContains(t, err, "of run polled have no result yet")

		after := counter.snapshot()
		polls := after["bitcount"] - before["bitcount"]
		require.Positive(t, polls, "polls")
		for name, n := range after {
			switch name {
			case "bitcount":
			case "hello", "client", "auth", "select":
				// A new connection's handshake, not a poll's command.
			default:
				require.Equal(t, before[name], n, "%d %s commands sent by %d polls of a %d-batch run", n-before[name], name, polls, batches)
			}
		}
		t.Logf("%d batches: %d polls, one BITCOUNT each and nothing else", batches, polls)
	}
}

// TestWaitReportsLostBatches builds a run whose batch 3 has neither result
// nor task (deleted behind the producer's back): once the done count has
// stood still for LostAfter, Wait names it, and only it; the batches still
// queued are not lost.
func TestWaitReportsLostBatches(t *testing.T) {
	t.Parallel()
	e := newEnv(t, runs.Config{LostAfter: 200 * time.Millisecond})
	queue, prefix, r := e.queue, e.prefix, e.r
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rec, st := e.enqueue(t, "lossy", input.Random(1, 5, 100), 5)
	require.Equal(t, 5, st.Enqueued)
	insp := e.db.Inspector()
	for _, seq := range []uint64{0, 1} {
		require.NoError(t, insp.DeleteTask(queue, "lossy:"+string(rune('0'+seq))))
		e.save(t, "lossy", seq, seq)
	}
	require.NoError(t, insp.DeleteTask(queue, "lossy:3"))

	err := e.svc.Wait(ctx, rec, runs.Watch{})
	var lost *runs.LostError
	require.ErrorAs(t, err, &lost, "error %v", err)
	require.Equal(t, runs.LostError{RunID: "lossy", IDs: []string{"lossy:3"}, Count: 1}, *lost)
	require.ErrorContains(t, err, "lossy:3")

	// Its result found after all (saved by a worker that could not mark
	// it), the batch is done, not lost.
	require.NoError(t, r.Client.HSet(ctx, base.ResultKey(prefix, "lossy", 3), "v", 1).Err())
	e.svc.LostAfter = 100 * time.Millisecond
	short, cancelShort := context.WithTimeout(ctx, time.Second)
	defer cancelShort()
	err = e.svc.Wait(short, rec, runs.Watch{})
	require.True(t, errors.Is(err, context.DeadlineExceeded), "batches 2 and 4 still queued, nothing lost: %v", err)
	n, err := e.db.DoneCount(ctx, "lossy")
	require.NoError(t, err)
	require.Equal(t, 3, n, "batch 3 marked done from its result")
}

// TestWaitCompletes returns as soon as every batch is marked done.
func TestWaitCompletes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, runs.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	go func() {
		for seq := range uint64(20) {
			e.save(t, "full", seq, seq)
			time.Sleep(5 * time.Millisecond)
		}
	}()
	var seen []runs.ProgressInfo
	rec := base.Record{RunID: "full", Queue: e.queue, Shards: 1, Batches: 20, Integers: 20, BatchSize: 1}
	require.NoError(t, e.svc.Wait(ctx, rec, runs.Watch{Progress: func(pi runs.ProgressInfo) { seen = append(seen, pi) }}))
	require.NotEmpty(t, seen)
	last := seen[len(seen)-1]
	require.True(t, last.Finished(), "the last progress reported is the end: %+v", last)
	require.Equal(t, runs.ProgressInfo{RunID: "full", Done: 20, Total: 20, Integers: 20, TotalIntegers: 20, Elapsed: last.Elapsed}, last)
	for i, pi := range seen[:len(seen)-1] {
		require.False(t, pi.Finished(), "progress %d of %d: %+v", i, len(seen), pi)
		require.LessOrEqual(t, pi.Done, seen[i+1].Done, "done never goes back")
	}
}
