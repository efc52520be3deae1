package peers

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/base"
	"bitqueue/redistest"
)

// requirePython skips the test, saying why, when the peers cannot run here
// (python3 or its Debian packages missing), unless BITQUEUE_PEERS=require
// (as in CI), where it fails the test instead: the same rule as the fault
// tests' redis-server.
func requirePython(t *testing.T) {
	t.Helper()
	if err := Check(); err != nil {
		if os.Getenv("BITQUEUE_PEERS") == "require" {
			t.Fatalf("BITQUEUE_PEERS=require: %v", err)
		}
		t.Skipf("the peers cannot run here, skipped (BITQUEUE_PEERS=require fails instead): %v", err)
	}
}

// writeNumbers writes n integers, one per line, mixing the cache's range,
// its edges, and integers up to 2^63-1, and returns the file and the
// integers.
func writeNumbers(t *testing.T, n int) (string, []uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(12, 1))
	nums := make([]uint64, n)
	var b strings.Builder
	for i := range nums {
		switch i % 4 {
		case 0:
			nums[i] = rng.Uint64N(1 << 20)
		case 1:
			nums[i] = rng.Uint64N(1 << 63)
		case 2:
			nums[i] = []uint64{0, 1, 1<<20 - 1, 1 << 20, 1<<63 - 1}[rng.IntN(5)]
		default:
			nums[i] = rng.Uint64N(1000)
		}
		b.WriteString(strconv.FormatUint(nums[i], 10))
		b.WriteByte('\n')
	}
	path := filepath.Join(t.TempDir(), "numbers.txt")
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
	return path, nums
}

// TestRun runs each peer on 20,000 integers in batches of 1,000 with two
// workers and checks every row of every result against strconv.FormatUint.
func TestRun(t *testing.T) {
	requirePython(t)
	r := redistest.Start(t)
	const n, size = 20_000, 1_000
	path, nums := writeNumbers(t, n)
	for _, peer := range []string{Pool, Celery} {
		t.Run(peer, func(t *testing.T) {
			queue, prefix := r.Namespace(t)
			ctx := context.Background()
			res, err := Run(ctx, Config{
				Peer: peer, RedisURL: r.URL, Workers: 2, BatchSize: size, Numbers: path,
				Prefix: prefix, Queue: queue, RunID: "run-" + peer, Timeout: 3 * time.Minute,
				TTL: time.Hour, KeepResults: true,
			})
			require.NoError(t, err)
			t.Logf("%s: %d integers in %d batches, %s wall, %s CPU (%s)", peer, res.Ints, res.Batches, res.Wall, res.CPU, res.Versions)
			require.Equal(t, peer, res.Peer)
			require.Equal(t, n, res.Ints)
			require.Equal(t, n/size, res.Batches)
			require.Positive(t, res.Wall)
			require.Positive(t, res.CPU, "the workers' CPU time")

			for seq := range n / size {
				key := base.ResultKey(prefix, res.RunID, uint64(seq))
				h, err := r.Client.HGetAll(ctx, key).Result()
				require.NoError(t, err, key)
				got, err := base.ParseResult(h)
				require.NoError(t, err, key)
				batch := nums[seq*size : (seq+1)*size]
				require.Equal(t, len(batch), got.Count, key)
				for i, v := range batch {
					if got.Bitstring(i) != strconv.FormatUint(v, 2) {
						t.Fatalf("%s row %d: %s, want %s", key, i, got.Bitstring(i), strconv.FormatUint(v, 2))
					}
				}
				ttl, err := r.Client.PTTL(ctx, key).Result()
				require.NoError(t, err)
				require.Positive(t, ttl, "%s has no TTL", key)
			}

			// Only the results are left: the run's own keys are gone.
			left, err := r.Client.Keys(ctx, prefix+":*").Result()
			require.NoError(t, err)
			require.Len(t, left, n/size, "keys left under %s", prefix)
			for _, k := range left {
				_, _, err := base.ParseResultKey(prefix, k)
				require.NoError(t, err)
			}
		})
	}
}

// TestRunCleansResults checks that a run deletes its results unless asked to
// keep them.
func TestRunCleansResults(t *testing.T) {
	requirePython(t)
	r := redistest.Start(t)
	queue, prefix := r.Namespace(t)
	path, _ := writeNumbers(t, 2_500)
	res, err := Run(context.Background(), Config{Peer: Pool, RedisURL: r.URL, Workers: 1, BatchSize: 1_000, Numbers: path,
		Prefix: prefix, Queue: queue, CacheBits: 8, Timeout: 2 * time.Minute})
	require.NoError(t, err)
	require.Equal(t, 3, res.Batches)
	left, err := r.Client.Keys(context.Background(), prefix+":*").Result()
	require.NoError(t, err)
	require.Empty(t, left)
}

func TestRunReportsAFailingPeer(t *testing.T) {
	requirePython(t)
	r := redistest.Start(t)
	queue, prefix := r.Namespace(t)
	bad := filepath.Join(t.TempDir(), "numbers.txt")
	require.NoError(t, os.WriteFile(bad, []byte("12\nnot-a-number\n"), 0o644))
	for _, peer := range []string{Pool, Celery} {
		_, err := Run(context.Background(), Config{Peer: peer, RedisURL: r.URL, Workers: 1, BatchSize: 10, Numbers: bad,
			Prefix: prefix, Queue: queue, CacheBits: 8, Timeout: 2 * time.Minute})
		require.ErrorContains(t, err, "not-a-number", peer)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	numbers := filepath.Join(t.TempDir(), "numbers.txt")
	require.NoError(t, os.WriteFile(numbers, []byte("1\n"), 0o644))
	good := Config{Peer: Pool, RedisURL: "redis://127.0.0.1:6379/0", Workers: 2, BatchSize: 1000, Numbers: numbers}
	require.NoError(t, good.withDefaults().validate())
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"peer", func(c *Config) { c.Peer = "rq" }, `Config.Peer "rq"`},
		{"redis url", func(c *Config) { c.RedisURL = "http://x" }, `Config.RedisURL "http://x"`},
		{"workers", func(c *Config) { c.Workers = 0 }, "Config.Workers 0"},
		{"batch size", func(c *Config) { c.BatchSize = base.MaxBatch + 1 }, fmt.Sprintf("Config.BatchSize %d", base.MaxBatch+1)},
		{"numbers missing", func(c *Config) { c.Numbers = numbers + ".gone" }, numbers + ".gone"},
		{"numbers directory", func(c *Config) { c.Numbers = filepath.Dir(numbers) }, "is not a regular file"},
		{"prefix pattern", func(c *Config) { c.Prefix = "a*" }, `Config.Prefix "a*"`},
		{"prefix space", func(c *Config) { c.Prefix = "a b" }, `"a b"`},
		{"run id", func(c *Config) { c.RunID = "a:b" }, `Config.RunID: run id "a:b"`},
		{"cache bits", func(c *Config) { c.CacheBits = 30 }, "Config.CacheBits 30"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := good
			tc.edit(&c)
			require.ErrorContains(t, c.withDefaults().validate(), tc.want)
		})
	}
}

func TestCheckNamesThePackage(t *testing.T) {
	t.Parallel()
	err := check(context.Background(), "/nonexistent/python3")
	var m *MissingError
	require.ErrorAs(t, err, &m)
	require.Equal(t, []string{"python3"}, m.Packages)
	require.ErrorContains(t, err, "apt-get install -y python3")

	// An interpreter that finds no module at all: Python with its
	// import path cut off.
	python, lookErr := exec.LookPath(DefaultPython)
	if lookErr != nil {
		t.Logf("no %s: checked the missing interpreter only", DefaultPython)
		return
	}
	script := filepath.Join(t.TempDir(), "python3")
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\nexec "+python+" -I -S \"$@\"\n"), 0o755))
	err = check(context.Background(), script)
	require.ErrorAs(t, err, &m)
	require.Equal(t, []string{"python3-celery", "python3-redis", "python3-numpy"}, m.Packages)
	require.ErrorContains(t, err, "apt-get install -y python3-celery python3-redis python3-numpy")
}
