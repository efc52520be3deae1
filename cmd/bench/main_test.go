package main

import (
	"bytes"
	"context"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/bench"
	"bitqueue/internal/cache"
	"bitqueue/internal/cli"
	"bitqueue/internal/tasks"
)

func noenv(string) string { return "" }

func TestPackTableMatchesPack(t *testing.T) {
	t.Parallel()
	const k = 12
	c, err := cache.New(k)
	require.NoError(t, err)
	raw := bench.CacheTable(k)
	table := make([]uint64, len(raw)/8)
	for i := range table {
		table[i] = uint64(raw[8*i]) | uint64(raw[8*i+1])<<8 | uint64(raw[8*i+2])<<16 | uint64(raw[8*i+3])<<24 |
			uint64(raw[8*i+4])<<32 | uint64(raw[8*i+5])<<40 | uint64(raw[8*i+6])<<48 | uint64(raw[8*i+7])<<56
	}
	for i, tc := range []struct {
		name string
		max  uint64
	}{{"inside the table", 1 << k}, {"mostly outside", 1 << 40}, {"up to 2^63-1", 1 << 63}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(uint64(i), 4))
			nums := []uint64{0}
			for range 999 {
				nums = append(nums, rng.Uint64N(tc.max))
			}
			want, _ := tasks.Pack(c, nums, nil)
			require.Equal(t, want, packTable(table, nums))
		})
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--workers", "0"},
		{"--batch-size", "100001"},
		{"--repeat", "0"},
		{"--sweep-batches", "10,x"},
		{"--chart", "x.svg"},
		{"--sweep", "--chart", "x.gif"},
		{"--timeout", "0s"},
		{"extra"},
	} {
		var out bytes.Buffer
		_, err := parse(args, noenv, &out)
		require.Error(t, err, "%q", args)
		require.Equal(t, cli.ExitUsage, cli.ExitCode(err), "%q: %v", args, err)
	}
}

func TestWorkerNeedsAHandler(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"worker", "--queue", "q", "--handler", "nope"}, noenv, &out, &errb)
	require.Equal(t, cli.ExitUsage, cli.ExitCode(err), "%v", err)
	err = run(context.Background(), []string{"worker", "--handler", "empty"}, noenv, &out, &errb)
	require.Equal(t, cli.ExitUsage, cli.ExitCode(err), "%v", err)
}
