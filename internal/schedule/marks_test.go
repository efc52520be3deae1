package schedule

import (
	"bitqueue/internal/rdb"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/base"
	"bitqueue/redistest"
)

// memMarks is a Marks in memory, recording the TTL of each mark.
type memMarks struct {
	mu   sync.Mutex
	ttls map[string]time.Duration
}

func newMemMarks(marked ...string) *memMarks {
	m := &memMarks{ttls: map[string]time.Duration{}}
	for _, id := range marked {
		m.ttls[id] = time.Hour
	}
	return m
}

func (m *memMarks) Produced(_ context.Context, runID string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.ttls[runID]
	return ok, nil
}

func (m *memMarks) Mark(_ context.Context, runID string, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ttls[runID] = ttl
	return nil
}

func (m *memMarks) has(runID string) bool {
	ok, _ := m.Produced(context.Background(), runID)
	return ok
}

// A replica started within a tick's second produces that tick, on time, not
// as a catch-up; today's tick at 12:00:00 is not skipped by a start at
// 12:00:00.000 or 12:00:00.999.
func TestRunnerStartWithinATicksSecond(t *testing.T) {
	t.Parallel()
	for _, start := range []string{"2026-11-29T12:00:00Z", "2026-11-29T12:00:00.001Z", "2026-11-29T12:00:00.999Z"} {
		for _, spec := range []string{"@every 1s", "@every 10s", "* * * * *", "0 12 * * *"} {
			f := setup(t, spec, start, 1, nil)
			require.NoError(t, f.run(t))
			want := "job-20261129T120000Z"
			if spec == "* * * * *" || spec == "0 12 * * *" {
				want = "job-20261129T1200Z"
			}
			require.Equal(t, []string{want}, f.rec.ids(), "%s started at %s", spec, start)
		}
	}
}

// Catch-up never produces a marked tick again, whatever Redis still holds
// of its results; it produces the unmarked ones, and marks them.
func TestRunnerCatchUpSkipsMarkedTicks(t *testing.T) {
	t.Parallel()
	f := setup(t, "@every 1s", "2026-11-29T12:00:05.5Z", 3, nil)
	f.r.CatchUp = 3
	marks := newMemMarks("job-20261129T120003Z")
	f.r.Marks = marks
	require.NoError(t, f.run(t))
	require.Equal(t, []string{"job-20261129T120002Z (catch-up)", "job-20261129T120004Z (catch-up)", "job-20261129T120005Z"}, f.rec.ids())
	require.Contains(t, f.logs.String(), `msg="tick already produced" tick=2026-11-29T12:00:03Z run_id=job-20261129T120003Z catch_up=true`)
	for _, id := range []string{"job-20261129T120002Z", "job-20261129T120004Z", "job-20261129T120005Z"} {
		require.True(t, marks.has(id), "%s marked once produced", id)
	}
}

// A tick cut short by a stop signal stays unmarked, and the next start's
// catch-up (the producer's default is 1) completes it; a start after that
// finds it marked.
func TestRunnerInterruptedTickIsCompletedByTheNextStart(t *testing.T) {
	t.Parallel()
	marks := newMemMarks()
	first := setup(t, "@every 10s", "2026-11-29T12:00:00.2Z", 0, func(f *fixture, ctx context.Context, _ Tick) error {
		f.cancel() // SIGTERM in the middle of the tick
		return ctx.Err()
	})
	first.r.Marks = marks
	require.NoError(t, first.run(t))
	require.Equal(t, []string{"job-20261129T120000Z"}, first.rec.ids())
	require.False(t, marks.has("job-20261129T120000Z"), "an interrupted tick is not marked")

	second := setup(t, "@every 10s", "2026-11-29T12:00:04Z", 2, nil)
	second.r.Marks, second.r.CatchUp = marks, 1
	require.NoError(t, second.run(t))
	require.Equal(t, []string{"job-20261129T120000Z (catch-up)", "job-20261129T120010Z"}, second.rec.ids())
	require.True(t, marks.has("job-20261129T120000Z"))

	third := setup(t, "@every 10s", "2026-11-29T12:00:15Z", 1, nil)
	third.r.Marks, third.r.CatchUp = marks, 1
	require.NoError(t, third.run(t))
	require.Equal(t, []string{"job-20261129T120020Z"}, third.rec.ids(), "12:00:10 is marked: not produced again")
	require.Contains(t, third.logs.String(), `msg="tick already produced" tick=2026-11-29T12:00:10Z`)
}

// errDrift stands for the refusal of a run whose configuration differs from
// the one its run id was first produced with.
var errDrift = errors.New("run job-20261129T120001Z was created with batch_size 100; this producer has 50")

// A replica whose configuration drifted logs an error for each tick it
// cannot produce, leaves the tick unmarked and keeps the schedule running.
func TestRunnerKeepsRunningWhenATickIsRefused(t *testing.T) {
	t.Parallel()
	marks := newMemMarks()
	f := setup(t, "@every 1s", "2026-11-29T12:00:00.5Z", 4, func(_ *fixture, _ context.Context, tk Tick) error {
		if tk.RunID == "job-20261129T120001Z" || tk.RunID == "job-20261129T120002Z" {
			return fmt.Errorf("enqueue: %w", errDrift)
		}
		return nil
	})
	f.r.Marks = marks
	require.NoError(t, f.run(t))
	require.Equal(t, []string{"job-20261129T120000Z", "job-20261129T120001Z", "job-20261129T120002Z", "job-20261129T120003Z"}, f.rec.ids())
	logs := f.logs.String()
	require.Contains(t, logs, `level=ERROR msg="tick failed" tick=2026-11-29T12:00:01Z run_id=job-20261129T120001Z catch_up=false err="enqueue: run job-20261129T120001Z was created with batch_size 100`)
	require.Contains(t, logs, `level=ERROR msg="tick failed" tick=2026-11-29T12:00:02Z run_id=job-20261129T120002Z`)
	require.True(t, marks.has("job-20261129T120000Z"))
	require.False(t, marks.has("job-20261129T120001Z"), "a refused tick is not marked")
	require.False(t, marks.has("job-20261129T120002Z"))
	require.True(t, marks.has("job-20261129T120003Z"))
}

func TestMarkTTL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		spec     string
		catchUp  int
		keep     time.Duration
		tick     string
		markedAt string
		want     time.Duration
	}{
		// Reachable by a start until the third hour after it, and a margin.
		{"hourly, catch-up 3", "@hourly", 3, 0, "2026-11-29T12:00:00Z", "2026-11-29T12:00:05Z", 3*time.Hour - 5*time.Second + time.Second + MarkMargin},
		{"catch-up 0 keeps it a period", "@hourly", 0, 0, "2026-11-29T12:00:00Z", "2026-11-29T12:00:00Z", time.Hour + time.Second + MarkMargin},
		{"every second: at least the margin", "@every 1s", 1, 0, "2026-11-29T12:00:00Z", "2026-11-29T12:00:00.3Z", time.Second + 700*time.Millisecond + MarkMargin},
		{"at least the retention", "@every 1s", 1, 2 * time.Hour, "2026-11-29T12:00:00Z", "2026-11-29T12:00:00Z", 2 * time.Hour},
		{"daily, catch-up 1000", "@daily", 1000, 0, "2026-11-29T00:00:00Z", "2026-11-29T00:00:00Z", 1000*24*time.Hour + time.Second + MarkMargin},
		{"marked late", "@hourly", 1, 0, "2026-11-29T12:00:00Z", "2026-11-29T14:00:00Z", MarkMargin},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := &Runner{Schedule: mustParse(t, tc.spec, ""), CatchUp: tc.catchUp}
			if tc.keep > 0 {
				r.KeepMark = func(Tick) time.Duration { return tc.keep }
			}
			require.Equal(t, tc.want, r.MarkTTL(Tick{Time: at(t, tc.tick)}, at(t, tc.markedAt)))
		})
	}
}

// RedisMarks against Redis: a mark is a string holding the time it was set,
// with its TTL, under base.TickKey.
func TestRedisMarks(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	_, prefix := r.Namespace(t)
	ctx := context.Background()
	m := &RedisMarks{RDB: rdb.New(r.Client, prefix), Now: func() time.Time { return at(t, "2026-11-29T12:00:01Z") }}
	ok, err := m.Produced(ctx, "job-20261129T120000Z")
	require.NoError(t, err)
	require.False(t, ok)
	require.NoError(t, m.Mark(ctx, "job-20261129T120000Z", 90*time.Minute))
	ok, err = m.Produced(ctx, "job-20261129T120000Z")
	require.NoError(t, err)
	require.True(t, ok)
	key := base.TickKey(prefix, "job-20261129T120000Z")
	require.Equal(t, "2026-11-29T12:00:01Z", r.Client.Get(ctx, key).Val())
	ttl := r.Client.PTTL(ctx, key).Val()
	require.True(t, ttl > 89*time.Minute && ttl <= 90*time.Minute, "PTTL %s", ttl)
	ok, err = m.Produced(ctx, "job-20261129T120001Z")
	require.NoError(t, err)
	require.False(t, ok, "another tick is not marked")
}
