package measure

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// capturedTraces is `go tool pprof -traces bin/worker` on the two workers'
// profiles of a benchmark run at W=2, B=10,000, merged.
func capturedTraces(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "traces-b10000.txt"))
	require.NoError(t, err)
	return string(b)
}

func TestParseTraces(t *testing.T) {
	t.Parallel()
	const sep = "-----------+-------------------------------------------------------\n"
	const header = "File: worker\nType: cpu\nDuration: 1s, Total samples = 30ms (3.00%)\n"
	for _, tc := range []struct {
		name string
		text string
		want []Stack
	}{
		{"inlined frames lose their mark", header + sep +
			"      10ms   bitqueue/internal/cache.(*Cache).Lookup (inline)\n" +
			"             bitqueue/internal/tasks.Pack\n" + sep,
			[]Stack{{10 * time.Millisecond, []string{"bitqueue/internal/cache.(*Cache).Lookup", "bitqueue/internal/tasks.Pack"}}}},
		{"labels above a stack are left out", header + sep +
			"   traceid:  abc def\n" +
			"     bytes:  64B\n" +
			"     1.50s   runtime.futex\n" + sep +
			"      20ms   main.main\n" + sep,
			[]Stack{{1500 * time.Millisecond, []string{"runtime.futex"}}, {20 * time.Millisecond, []string{"main.main"}}}},
		{"hours and microseconds", header + sep + "      2hrs   a.f\n" + sep + "     250us   b.g\n             b.h\n" + sep,
			[]Stack{{2 * time.Hour, []string{"a.f"}}, {250 * time.Microsecond, []string{"b.g", "b.h"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseTraces(tc.text)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestParseTracesCaptured(t *testing.T) {
	t.Parallel()
	stacks, err := ParseTraces(capturedTraces(t))
	require.NoError(t, err)
	require.Len(t, stacks, 14)
	var total time.Duration
	for _, s := range stacks {
		total += s.CPU
		require.NotEmpty(t, s.Frames)
		for _, f := range s.Frames {
			require.NotContains(t, f, "(inline)")
			require.NotContains(t, f, " ", "a frame is one function name")
		}
	}
	require.Equal(t, 230*time.Millisecond, total, "the header's Total samples")
	require.Equal(t, stack(90*time.Millisecond,
		"bitqueue/internal/cache.(*Cache).Lookup", "bitqueue/internal/tasks.Pack",
		"bitqueue/internal/tasks.(*BitsHandler).process", "bitqueue/internal/tasks.(*BitsHandler).ProcessTask",
		"main.run.func2.(*Worker).Handler.1", "github.com/hibiken/asynq.HandlerFunc.ProcessTask",
		"github.com/hibiken/asynq.(*processor).perform", "github.com/hibiken/asynq.(*processor).exec.func1.3"),
		stacks[0], "the first stack, leaf first")
}

func TestParseTracesErrors(t *testing.T) {
	t.Parallel()
	const sep = "-----------+-------------------------------------------------------\n"
	for _, tc := range []struct {
		name, text, want string
	}{
		{"not a CPU profile", "Type: inuse_space\n" + sep + "      1MB   a.f\n" + sep, `profile type "inuse_space", want cpu`},
		{"a value that is no time", "Type: cpu\n" + sep + "      12   a.f\n" + sep, `line 3: sample value "12" is not a time`},
		{"a frame before its value", "Type: cpu\n" + sep + "             a.f\n" + sep, "line 3: a frame before its sample's value"},
		{"no sample", "Type: cpu\n" + sep, "no sample"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseTraces(tc.text)
			require.ErrorContains(t, err, tc.want)
		})
	}
}
