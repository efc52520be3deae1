package main

import (
	"math"
	"testing"

	"github.com/hibiken/asynqmon"
	"github.com/stretchr/testify/require"

	"bitqueue/fixture"
	"bitqueue/internal/base"
)

// TestFormatters checks what the web UI shows of a task's payload and of its
// result: a batch's summary, and for any other payload or result what
// asynqmon would show.
func TestFormatters(t *testing.T) {
	t.Parallel()
	batch := fixture.Payload(t, base.Batch{RunID: "nightly-1", Seq: 42, Nums: []uint64{5, 1000, 3}})
	tests := []struct {
		name     string
		format   func(taskType string, b []byte) string
		taskType string
		in       []byte
		want     string
	}{
		{"payload: a batch", formatPayload, base.TypeBits, batch, "run nightly-1 seq 42: 3 ints (max width 10)"},
		{"payload: a batch of zeros", formatPayload, base.TypeBits, fixture.Payload(t, base.Batch{RunID: "z", Nums: make([]uint64, 7)}), "run z seq 0: 7 ints (max width 1)"},
		{"payload: the widest batch", formatPayload, base.TypeBits, fixture.Payload(t, base.Batch{RunID: "w", Seq: math.MaxUint64, Nums: []uint64{math.MaxInt64}}), "run w seq 18446744073709551615: 1 ints (max width 63)"},
		{"payload: a malformed batch, printable", formatPayload, base.TypeBits, []byte("not a batch"), "not a batch"},
		{"payload: a malformed batch, binary", formatPayload, base.TypeBits, batch[:len(batch)-1], "non-printable bytes"},
		{"payload: an empty batch", formatPayload, base.TypeBits, nil, asynqmon.DefaultPayloadFormatter.FormatPayload(base.TypeBits, nil)},
		{"payload: another type's JSON", formatPayload, "email:send", []byte(`{"to":"a@b"}`), `{"to":"a@b"}`},
		{"payload: another type's batch bytes", formatPayload, "other:type", batch, "non-printable bytes"},
		{"result: a batch's task: no result on it", formatResult, base.TypeBits, nil, batchResult},
		{"result: a batch's task with a result of its own", formatResult, base.TypeBits, []byte("ok"), "ok"},
		{"result: another type's result", formatResult, "email:send", []byte("sent"), "sent"},
		{"result: another type's empty result", formatResult, "email:send", nil, asynqmon.DefaultResultFormatter.FormatResult("email:send", nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, tt.format(tt.taskType, tt.in))
		})
	}
}
