package baseline

import (
	"bitqueue/internal/base"
	"context"
	"encoding/binary"
	"fmt"

	"github.com/hibiken/asynq"

	"bitqueue/internal/cache"
	"bitqueue/internal/tasks"
)

// Handlers a baseline worker serves with, by the name "bench worker
// --handler" takes.
const (
	Empty   = "empty"
	Shipped = "shipped"
	Bare    = "bare" // see ServeBare
)

// Args is the command line that starts a baseline worker serving with
// handler (Empty, Shipped or Bare): self, "worker", "--handler", handler.
func Args(self []string, handler string) []string {
	return append(append([]string{}, self...), "worker", "--handler", handler)
}

// EmptyHandler returns at once: the fleet's ceiling, what asynq and Redis
// cost per task with no work and no result.
func EmptyHandler() asynq.Handler {
	return asynq.HandlerFunc(func(context.Context, *asynq.Task) error { return nil })
}

// ShippedHandler converts batches whose task carries the cache (see
// EncodeShipped): the process builds nothing at start-up, and every task's
// handler decodes the whole table before converting its batch — what a
// process pool does when the cache is an argument of every call.
type ShippedHandler struct {
	Store tasks.ResultStore
}

// ProcessTask decodes the cache shipped with the task, then converts and
// stores the batch as tasks.BitsHandler does. A malformed payload is not
// retried.
func (h *ShippedHandler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	raw, payload, err := DecodeShipped(t.Payload())
	if err != nil {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	// Unpickling: a fresh table for every task.
	table := make([]uint64, len(raw)/8)
	for i := range table {
		table[i] = binary.LittleEndian.Uint64(raw[8*i:])
	}
	var b base.Batch
	if err := base.DecodeBatch(&b, payload); err != nil {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	return h.Store.Save(ctx, b.RunID, b.Seq, packTable(table, b.Nums))
}

// packTable packs nums as tasks.Pack does, looking bitstrings up in table
// (words in the layout of TableWord).
func packTable(table []uint64, nums []uint64) base.Result {
	width := 1
	for _, n := range nums {
		width = max(width, cache.Len(n))
	}
	bits := make([]byte, (len(nums)*width+7)/8)
	off := 0
	for _, n := range nums {
		row := n // integers outside the table are their own rows
		if n < uint64(len(table)) {
			w := table[n]
			row = (w &^ 63) >> (64 - w&63)
		}
		for i := width - 1; i >= 0; i-- {
			if row>>i&1 == 1 {
				bits[off/8] |= 0x80 >> (off % 8)
			}
			off++
		}
	}
	return base.Result{Count: len(nums), Width: width, Bits: bits}
}
