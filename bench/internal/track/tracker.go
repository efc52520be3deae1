// Package track follows a benchmark's runs batch by batch from both ends:
// when each task's enqueue is sent, and when its completion becomes visible
// in Redis through keyspace events.
package track

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"bitqueue/internal/base"
)

// Signal is the Redis event that marks a batch as done.
type Signal int

// The two signals a run can be followed by.
const (
	// ResultStored: the batch's result hash was written (an "hset" keyspace
	// event on <prefix>:result:<run-id>:<seq>). This is when a reader can
	// first see the result.
	ResultStored Signal = iota
	// TaskDeleted: asynq deleted the finished task (a "del" keyspace event on
	// asynq:{<queue>}:t:<run-id>:<seq>), for handlers that store nothing.
	TaskDeleted
)

// Followed is what the Tracker saw of one run: when each batch's enqueue began and
// when its completion became visible in Redis.
type Followed struct {
	ID       string
	Signal   Signal
	Enqueued []time.Time // by seq: just before the enqueue command was sent
	Done     []time.Time // by seq: when the benchmark received the event
	left     int
	done     chan struct{}
}

// Wait waits until every batch of r is done.
func (r *Followed) Wait(ctx context.Context, timeout time.Duration) error {
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(timeout):
		return fmt.Errorf("run %s: %d of %d batches not done after %s", r.ID, r.Remaining(), len(r.Done), timeout)
	}
}

// Remaining is the number of batches of r not done yet. Read it once Wait
// has returned, or from the goroutine that follows r.
func (r *Followed) Remaining() int {
	n := 0
	for _, t := range r.Done {
		if t.IsZero() {
			n++
		}
	}
	return n
}

// Tracker timestamps the runs it follows from both ends. As a go-redis hook on
// the producer's client it records when each task's enqueue command is sent;
// subscribed to keyspace events it records when each batch's result is
// stored (or its task deleted). Times are taken in the benchmark process, so
// "done" means "visible to another Redis client", which is what a reader of
// results waits for.
type Tracker struct {
	mu   sync.Mutex
	runs map[string]*Followed
	ps   *redis.PubSub
	// space is "__keyspace@<db>__:", the start of every channel
	space      string
	prefix     string // of the result keys it listens to
	taskMarker string // in asynq's task keys, before the task id
	errs       chan error
}

// NewTracker subscribes to the keyspace events of result keys under prefix in
// database db, and starts recording them. Keyspace events must be enabled on
// the server (see Events).
func NewTracker(ctx context.Context, c redis.UniversalClient, db int, prefix string) (*Tracker, error) {
	t := &Tracker{runs: map[string]*Followed{}, prefix: prefix, taskMarker: "}:t:", errs: make(chan error, 1)}
	t.space = fmt.Sprintf("__keyspace@%d__:", db)
	t.ps = c.PSubscribe(ctx, t.space+resultPattern(prefix))
	if _, err := t.ps.Receive(ctx); err != nil {
		t.ps.Close()
		return nil, fmt.Errorf("subscribe to keyspace events: %w", err)
	}
	go t.listen(t.space)
	return t, nil
}

// WatchTasks also subscribes to the events of the task keys of queue, for
// runs followed by TaskDeleted. Only those queues' events reach the
// benchmark, so that watching costs every kind of trial one message per
// batch.
func (t *Tracker) WatchTasks(ctx context.Context, queue string) error {
	if err := t.ps.PSubscribe(ctx, t.space+"asynq:{"+queue+"}:t:*"); err != nil {
		return fmt.Errorf("subscribe to the task events of %s: %w", queue, err)
	}
	return nil
}

// Close stops listening.
func (t *Tracker) Close() error { return t.ps.Close() }

func (t *Tracker) listen(space string) {
	for {
		m, err := t.ps.ReceiveMessage(context.Background())
		if err != nil {
			if !isClosed(err) {
				select {
				case t.errs <- err:
				default:
				}
			}
			return
		}
		at := time.Now()
		key := strings.TrimPrefix(m.Channel, space)
		switch m.Payload {
		case "hset":
			if run, seq, err := base.ParseResultKey(t.prefix, key); err == nil {
				t.mark(run, int(seq), ResultStored, at)
			}
		case "del":
			if i := strings.Index(key, t.taskMarker); i >= 0 && strings.HasPrefix(key, "asynq:{") {
				if run, seq, ok := splitTaskID(key[i+len(t.taskMarker):]); ok {
					t.mark(run, seq, TaskDeleted, at)
				}
			}
		}
	}
}

// resultPattern is the PSUBSCRIBE pattern of every result key under prefix:
// the result key of any run ("*") with any seq ("*").
func resultPattern(prefix string) string {
	k := base.ResultKey(prefix, "*", 0)
	return k[:strings.LastIndexByte(k, ':')+1] + "*"
}

func isClosed(err error) bool {
	return err == redis.ErrClosed || strings.Contains(err.Error(), "use of closed") || err == net.ErrClosed
}

// Err returns the error that stopped the listener, if any.
func (t *Tracker) Err() error {
	select {
	case err := <-t.errs:
		t.errs <- err
		return err
	default:
		return nil
	}
}

// Follow starts tracking run id of batches batches, done on signal.
func (t *Tracker) Follow(id string, batches int, signal Signal) *Followed {
	r := &Followed{ID: id, Signal: signal, Enqueued: make([]time.Time, batches), Done: make([]time.Time, batches), left: batches, done: make(chan struct{})}
	t.mu.Lock()
	t.runs[id] = r
	t.mu.Unlock()
	return r
}

// Done reports whether batch seq of r is done.
func (t *Tracker) Done(r *Followed, seq int) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return !r.Done[seq].IsZero()
}

// Forget stops tracking run id.
func (t *Tracker) Forget(id string) {
	t.mu.Lock()
	delete(t.runs, id)
	t.mu.Unlock()
}

// splitTaskID splits "<run-id>:<seq>".
func splitTaskID(id string) (run string, seq int, ok bool) {
	i := strings.LastIndexByte(id, ':')
	if i < 0 {
		return "", 0, false
	}
	n, err := strconv.Atoi(id[i+1:])
	return id[:i], n, err == nil
}

func (t *Tracker) mark(run string, seq int, s Signal, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.runs[run]
	if r == nil || r.Signal != s || seq >= len(r.Done) || !r.Done[seq].IsZero() {
		return
	}
	r.Done[seq] = at
	if r.left--; r.left == 0 {
		close(r.done)
	}
}

func (t *Tracker) stampEnqueue(taskID string, at time.Time) {
	run, seq, ok := splitTaskID(taskID)
	if !ok {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if r := t.runs[run]; r != nil && seq < len(r.Enqueued) && r.Enqueued[seq].IsZero() {
		r.Enqueued[seq] = at
	}
}

// Hook returns a go-redis hook that stamps the enqueue of every task of a
// followed run: asynq enqueues a task with one script call whose first key is
// the task's key, asynq:{<queue>}:t:<task-id>.
func (t *Tracker) Hook() redis.Hook { return enqueueHook{t} }

type enqueueHook struct{ t *Tracker }

func (h enqueueHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h enqueueHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func (h enqueueHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if name := cmd.Name(); name == "evalsha" || name == "eval" {
			// args: evalsha, sha, numkeys, key1, ...
			if args := cmd.Args(); len(args) > 3 {
				if key, ok := args[3].(string); ok {
					if i := strings.Index(key, h.t.taskMarker); i >= 0 && strings.HasPrefix(key, "asynq:{") {
						h.t.stampEnqueue(key[i+len(h.t.taskMarker):], time.Now())
					}
				}
			}
		}
		return next(ctx, cmd)
	}
}
