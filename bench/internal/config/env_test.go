package config_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"bitqueue/bench/internal/config"
)

func TestWithoutOTel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		env, want []string
	}{
		{"empty", nil, []string{}},
		{"none to drop", []string{"PATH=/bin", "HOME=/root"}, []string{"PATH=/bin", "HOME=/root"}},
		{"exporter, endpoint and service dropped", []string{"OTEL_TRACES_EXPORTER=otlp", "PATH=/bin", "OTEL_EXPORTER_OTLP_ENDPOINT=http://c:4318", "OTEL_SERVICE_NAME=w"}, []string{"PATH=/bin"}},
		{"a name that only contains OTEL_ kept", []string{"MY_OTEL_X=1", "BITQUEUE_QUEUE=q"}, []string{"MY_OTEL_X=1", "BITQUEUE_QUEUE=q"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, config.WithoutOTel(tt.env))
		})
	}
}
