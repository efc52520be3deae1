package main

import (
	"io"
	"math"
	"testing"

	"github.com/hibiken/asynqmon"
	"github.com/stretchr/testify/require"

	"bitqueue/fixture"
	"bitqueue/internal/base"
	"bitqueue/internal/cli"
)

func TestFormatPayload(t *testing.T) {
	t.Parallel()
	batch := fixture.Payload(t, base.Batch{RunID: "nightly-1", Seq: 42, Nums: []uint64{5, 1000, 3}})
	tests := []struct {
		name     string
		taskType string
		payload  []byte
		want     string
	}{
		{"a batch", base.TypeBits, batch, "run nightly-1 seq 42: 3 ints (max width 10)"},
		{"a batch of zeros", base.TypeBits, fixture.Payload(t, base.Batch{RunID: "z", Nums: make([]uint64, 7)}), "run z seq 0: 7 ints (max width 1)"},
		{"the widest batch", base.TypeBits, fixture.Payload(t, base.Batch{RunID: "w", Seq: math.MaxUint64, Nums: []uint64{math.MaxInt64}}), "run w seq 18446744073709551615: 1 ints (max width 63)"},
		{"a malformed batch, printable", base.TypeBits, []byte("not a batch"), "not a batch"},
		{"a malformed batch, binary", base.TypeBits, batch[:len(batch)-1], "non-printable bytes"},
		{"an empty batch", base.TypeBits, nil, asynqmon.DefaultPayloadFormatter.FormatPayload(base.TypeBits, nil)},
		{"another type's JSON", "email:send", []byte(`{"to":"a@b"}`), `{"to":"a@b"}`},
		{"another type's batch bytes", "other:type", batch, "non-printable bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, formatPayload(tt.taskType, tt.payload))
		})
	}
}

func TestFormatResult(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		taskType string
		result   []byte
		want     string
	}{
		{"a batch's task: no result on it", base.TypeBits, nil, batchResult},
		{"a batch's task with a result of its own", base.TypeBits, []byte("ok"), "ok"},
		{"another type's result", "email:send", []byte("sent"), "sent"},
		{"another type's empty result", "email:send", nil, asynqmon.DefaultResultFormatter.FormatResult("email:send", nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, formatResult(tt.taskType, tt.result))
		})
	}
}

func TestParseUI(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    uiConfig
		wantErr string
	}{
		{"none by default", nil, nil, uiConfig{addrFrom: "--ui-addr"}, ""},
		{"served", []string{"--ui-addr", ":8081"}, nil, uiConfig{addr: ":8081", addrFrom: "--ui-addr"}, ""},
		{"from env", nil, map[string]string{"BITQUEUE_UI_ADDR": "127.0.0.1:0", "BITQUEUE_UI_READ_ONLY": "true", "BITQUEUE_UI_PROMETHEUS": "http://prometheus:9090"},
			uiConfig{addr: "127.0.0.1:0", addrFrom: "BITQUEUE_UI_ADDR", readOnly: true, prometheus: "http://prometheus:9090"}, ""},
		{"read-only false without a UI", nil, map[string]string{"BITQUEUE_UI_READ_ONLY": "false"}, uiConfig{addrFrom: "--ui-addr"}, ""},
		{"no port", []string{"--ui-addr", "localhost"}, nil, uiConfig{}, "--ui-addr localhost: want host:port"},
		{"read-only without a UI", []string{"--ui-read-only"}, nil, uiConfig{}, "--ui-read-only applies to the web UI"},
		{"prometheus without a UI", nil, map[string]string{"BITQUEUE_UI_PROMETHEUS": "http://p:9090"}, uiConfig{}, "BITQUEUE_UI_PROMETHEUS=http://p:9090 applies to the web UI"},
		{"prometheus not a URL", []string{"--ui-addr", ":0", "--ui-prometheus", "prometheus:9090"}, nil, uiConfig{}, "--ui-prometheus prometheus:9090: want Prometheus's base URL"},
		{"prometheus with a query", []string{"--ui-addr", ":0", "--ui-prometheus", "http://p:9090/?x=1"}, nil, uiConfig{}, "--ui-prometheus"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := parse(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if tt.wantErr != "" {
				require.Error(t, err)
				require.Equal(t, cli.ExitUsage, cli.ExitCode(err))
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, c.ui)
		})
	}
}
