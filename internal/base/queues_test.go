package base_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/base"
)

// TestOf pins the placement of task ids: changing it would send a re-run's
// batches to other queues than the first run's. The empty id hashes to
// FNV-1a's offset basis, 0xcbf29ce484222325.
func TestOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		id   string
		n    int
		want int
	}{
		{"one shard", "run:1", 1, 0},
		{"zero shards", "run:1", 0, 0},
		{"negative shards", "run:1", -3, 0},
		{"empty id, 2", "", 2, 1},
		{"empty id, 3", "", 3, 2},
		{"empty id, 16", "", 16, 5},
		{"run:0 of 3", "run:0", 3, 0},
		{"run:1 of 3", "run:1", 3, 1},
		{"run:2 of 3", "run:2", 3, 2},
		{"run:3 of 3", "run:3", 3, 0},
		{"run:1 of 16", "run:1", 16, 3},
		{"run:2 of 16", "run:2", 16, 6},
		{"run:3 of 16", "run:3", 16, 9},
		{"generated id, first batch", "20261129T120000Z-1a2b3c4d:0", 16, 8},
		{"generated id, batch 999", "20261129T120000Z-1a2b3c4d:999", 16, 5},
		{"generated id, batch 999 of 3", "20261129T120000Z-1a2b3c4d:999", 3, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, base.ShardOf(tt.id, tt.n))
		})
	}
}

// TestOfSpreads checks that consecutive batches of one run spread evenly.
func TestOfSpreads(t *testing.T) {
	t.Parallel()
	for _, n := range []int{2, 3, 7, 16} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			const ids = 30_000
			counts := make([]int, n)
			for seq := range ids {
				s := base.ShardOf(fmt.Sprintf("20261129T120000Z-1a2b3c4d:%d", seq), n)
				require.True(t, s >= 0 && s < n, "shard %d of %d", s, n)
				counts[s]++
			}
			for i, c := range counts {
				require.InDelta(t, ids/n, c, 0.06*ids/float64(n), "shard %d of %d holds %d of %d ids", i, n, c, ids)
			}
		})
	}
}

func TestQueues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		base string
		n    int
		want []string
	}{
		{"unsharded", "bits", 1, []string{"bits"}},
		{"zero is unsharded", "bits", 0, []string{"bits"}},
		{"two", "bits", 2, []string{"bits-0", "bits-1"}},
		{"three", "q", 3, []string{"q-0", "q-1", "q-2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, base.Queues(tt.base, tt.n))
		})
	}
	require.Len(t, base.Queues("bits", 12), 12)
	require.Equal(t, "bits-11", base.Queues("bits", 12)[11])
}

func TestQueueOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		base string
		n    int
		id   string
		want string
	}{
		{"bits", 1, "run:1", "bits"},
		{"bits", 0, "run:1", "bits"},
		{"bits", 3, "run:0", "bits-0"},
		{"bits", 3, "run:1", "bits-1"},
		{"bits", 3, "run:2", "bits-2"},
		{"bits", 16, "run:3", "bits-9"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%d/%s", tt.base, tt.n, tt.id), func(t *testing.T) {
			t.Parallel()
			got := base.QueueOf(tt.base, tt.n, tt.id)
			require.Equal(t, tt.want, got)
			require.Contains(t, base.Queues(tt.base, tt.n), got)
		})
	}
}

func TestCheckQueue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		queue string
		want  string // part of the error; "" when servable
	}{
		{"default", "bits", ""},
		{"punctuation", "team.a_b-c:d/e@f", ""},
		{"like a shard", "bits-0", ""},
		{"unicode letters", "файлы", ""},
		{"empty", "", "must be non-empty without spaces"},
		{"space inside", "a b", "must be non-empty without spaces"},
		{"leading space", " a", "must be non-empty without spaces"},
		{"tab", "a\tb", "must be non-empty without spaces"},
		{"newline", "a\n", "must be non-empty without spaces"},
		{"no-break space", "a\u00a0b", "must be non-empty without spaces"},
		{"comma", "a,b", "must not hold a comma"},
		{"lone comma", ",", "must not hold a comma"},
		{"control character", "a\x07b", "non-printing character U+0007"},
		{"zero-width space", "a\u200bb", "non-printing character U+200B"},
		{"open brace", "a{b", "must not hold { or }"},
		{"close brace", "a}b", "must not hold { or }"},
		{"invalid UTF-8", "a\xffb", "must be valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := base.CheckQueue(tt.queue)
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.want)
		})
	}
}
