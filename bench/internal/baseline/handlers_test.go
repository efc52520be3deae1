package baseline

import (
	"bitqueue/internal/base"
	"context"
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/cache"
	"bitqueue/internal/tasks"
)

func TestPackTableMatchesPack(t *testing.T) {
	t.Parallel()
	const k = 12
	c, err := cache.New(k)
	require.NoError(t, err)
	raw := CacheTable(k)
	table := make([]uint64, len(raw)/8)
	for i := range table {
		table[i] = binary.LittleEndian.Uint64(raw[8*i:])
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

type savedResult struct {
	runID string
	seq   uint64
	r     base.Result
}

type memStore struct{ saved []savedResult }

func (s *memStore) Save(_ context.Context, runID string, seq uint64, r base.Result) error {
	s.saved = append(s.saved, savedResult{runID, seq, r})
	return nil
}

func TestShippedHandler(t *testing.T) {
	t.Parallel()
	const k = 10
	c, err := cache.New(k)
	require.NoError(t, err)
	nums := []uint64{0, 1, 5, 1023, 1 << 30}
	payload, err := base.EncodeBatch(base.Batch{RunID: "r1", Seq: 7, Nums: nums})
	require.NoError(t, err)
	store := &memStore{}
	h := &ShippedHandler{Store: store}
	require.NoError(t, h.ProcessTask(context.Background(), asynq.NewTask(TypeShipped, EncodeShipped(CacheTable(k), payload))))
	want, _ := tasks.Pack(c, nums, nil)
	require.Equal(t, []savedResult{{"r1", 7, want}}, store.saved)

	for _, tc := range []struct {
		name    string
		payload []byte
	}{
		{"malformed table", []byte{0x80}},
		{"malformed batch", EncodeShipped(CacheTable(2), []byte{0xff, 0xff})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := (&ShippedHandler{Store: &memStore{}}).ProcessTask(context.Background(), asynq.NewTask(TypeShipped, tc.payload))
			require.ErrorIs(t, err, asynq.SkipRetry)
		})
	}
}

func TestArgs(t *testing.T) {
	t.Parallel()
	self := []string{"/bin/bench"}
	require.Equal(t, []string{"/bin/bench", "worker", "--handler", "empty"}, Args(self, Empty))
	require.Equal(t, []string{"/bin/bench"}, self)
}
