package e2e

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/redistest"
)

// writeInput writes nums to a file with mixed separators (spaces, tabs,
// LF and CRLF line ends) and returns its path.
func writeInput(t *testing.T, nums []uint64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "numbers.txt")
	f, err := os.Create(path)
	require.NoError(t, err)
	w := bufio.NewWriter(f)
	seps := []string{" ", "\t", "\n", "\r\n", "  \n"}
	for i, n := range nums {
		fmt.Fprint(w, n, seps[i%len(seps)])
	}
	require.NoError(t, w.Flush())
	require.NoError(t, f.Close())
	return path
}

// testNumbers returns n integers of every magnitude, starting with the
// boundaries of the default cache and of the integer range.
func testNumbers(n int) []uint64 {
	nums := []uint64{0, 1, 1<<20 - 1, 1 << 20, math.MaxInt64}
	rng := rand.New(rand.NewPCG(1, 2))
	for len(nums) < n {
		nums = append(nums, rng.Uint64N(math.MaxInt64)>>rng.IntN(63))
	}
	return nums
}

// checkOut compares every line of a producer's -out file with the input.
func checkOut(t *testing.T, path string, nums []uint64) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	i := 0
	for ; sc.Scan(); i++ {
		require.Less(t, i, len(nums), "more output lines than inputs")
		want := strconv.FormatUint(nums[i], 10) + "\t" + strconv.FormatInt(int64(nums[i]), 2)
		if got := sc.Text(); got != want {
			require.Equal(t, want, got, "output line %d", i+1)
		}
	}
	require.NoError(t, sc.Err())
	require.Equal(t, len(nums), i, "output lines")
}

// readRow reads row i of a packed result directly from the contract: width
// bits at bit offset i·width, bit 0 being the most significant bit of byte 0.
func readRow(packed []byte, width, i int) uint64 {
	var v uint64
	for b := i * width; b < (i+1)*width; b++ {
		v = v<<1 | uint64(packed[b/8]>>(7-b%8)&1)
	}
	return v
}

func TestPipelineFromFile(t *testing.T) {
	t.Parallel()
	e := setup(t)
	const batch = 1000
	nums := testNumbers(100_000)
	in := writeInput(t, nums)
	w1 := startWorker(t, e)
	w2 := startWorker(t, e)

	out := filepath.Join(t.TempDir(), "out.tsv")
	r := produce(t, e, "-input", in, "-batch-size", strconv.Itoa(batch), "-run-id", "file-run", "-wait", "-timeout", "3m", "-out", out)
	require.Equal(t, 0, r.code, "producer failed: %s", r.stderr)
	checkOut(t, out, nums)

	// Both processes took part.
	for _, w := range []*proc{w1, w2} {
		require.Contains(t, w.Logs(), `msg="batch done"`, "worker %d processed no batch", w.Pid())
		require.Equal(t, 1, strings.Count(w.Logs(), `msg="cache built"`), "cache built once per process")
	}

	// The last batch's hash, read raw, follows the contract field by field.
	ctx := context.Background()
	key := e.prefix + ":result:file-run:99"
	h, err := e.Client.HGetAll(ctx, key).Result()
	require.NoError(t, err)
	require.Len(t, h, 4, "fields of %s: %v", key, h)
	rows := nums[99*batch:]
	width := 1
	for _, n := range rows {
		width = max(width, bits.Len64(n))
	}
	require.Equal(t, "1", h["v"])
	require.Equal(t, strconv.Itoa(len(rows)), h["count"])
	require.Equal(t, strconv.Itoa(width), h["width"])
	packed := []byte(h["bits"])
	require.Len(t, packed, (len(rows)*width+7)/8)
	for i, n := range rows {
		row := readRow(packed, width, i)
		require.Equal(t, n, row, "row %d", i)
		s := strings.TrimLeft(fmt.Sprintf("%0*b", width, row), "0")
		if s == "" {
			s = "0"
		}
		require.Equal(t, strconv.FormatInt(int64(n), 2), s, "row %d with leading zeros dropped", i)
	}
	if pad := len(rows) * width % 8; pad != 0 {
		require.Zero(t, packed[len(packed)-1]&(1<<(8-pad)-1), "padding bits")
	}
	ttl, err := e.Client.TTL(ctx, key).Result()
	require.NoError(t, err)
	if e.Embedded != nil {
		ttl = e.Embedded.TTL(key)
	}
	require.InDelta(t, (24 * time.Hour).Seconds(), ttl.Seconds(), 60, "result TTL")

	// Running the same run again enqueues nothing: every batch has its result.
	// A batch's result is readable a moment before asynq marks its task done.
	redistest.WaitFor(t, 30*time.Second, "every task marked done", func() bool {
		info, err := e.inspector(t).GetQueueInfo(e.queue)
		return err == nil && info.Size == 0 && info.Processed == 100
	})
	processed := 100
	again := produce(t, e, "-input", in, "-batch-size", strconv.Itoa(batch), "-run-id", "file-run", "-wait", "-timeout", "1m", "-out", out)
	require.Equal(t, 0, again.code, again.stderr)
	require.Contains(t, again.stderr, "new=0 already_queued=0 already_done=100")
	checkOut(t, out, nums)
	info, err := e.inspector(t).GetQueueInfo(e.queue)
	require.NoError(t, err)
	require.Equal(t, processed, info.Processed, "batches processed after the re-run")
	require.Zero(t, info.Size, "tasks left in the queue")
}

func TestProducerStdinToStdout(t *testing.T) {
	t.Parallel()
	e := setup(t)
	startWorker(t, e)
	nums := []uint64{5, 0, 1 << 40, 3}
	cmdIn := "5\n0 1099511627776\r\n3"
	r := produceStdin(t, e, cmdIn, "-input", "-", "-batch-size", "3", "-wait", "-timeout", "1m", "-out", "-")
	require.Equal(t, 0, r.code, r.stderr)
	var want strings.Builder
	for _, n := range nums {
		fmt.Fprintf(&want, "%d\t%b\n", n, n)
	}
	require.Equal(t, want.String(), r.stdout)
	require.Regexp(t, `run_id=\d{8}T\d{6}Z-[0-9a-f]{8}`, r.stderr, "generated run id is printed")
}

func TestProducerRandomIsReproducible(t *testing.T) {
	t.Parallel()
	e := setup(t)
	startWorker(t, e)
	dir := t.TempDir()
	for _, name := range []string{"a", "b"} {
		produceOK(t, e, "-count", "5000", "-max", "1000", "-run-id", "seeded-"+name, "-seed", "7", "-wait", "-timeout", "1m", "-out", filepath.Join(dir, name))
	}
	a, err := os.ReadFile(filepath.Join(dir, "a"))
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(dir, "b"))
	require.NoError(t, err)
	require.Equal(t, a, b, "same seed, same integers")
	lines := strings.Split(strings.TrimSpace(string(a)), "\n")
	require.Len(t, lines, 5000)
	for _, l := range lines {
		n, s, ok := strings.Cut(l, "\t")
		require.True(t, ok, l)
		v, err := strconv.ParseInt(n, 10, 64)
		require.NoError(t, err)
		require.Less(t, v, int64(1000))
		require.Equal(t, strconv.FormatInt(v, 2), s)
	}
}
