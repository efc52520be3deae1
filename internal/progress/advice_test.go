package progress_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/progress"
)

func TestWorkerAdvice(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		queue  string
		shards int
		prefix string
		want   string
	}{
		{"bits", 1, "bitqueue", "start bin/worker on the same Redis"},
		{"jobs", 4, "staging", "start bin/worker --queue jobs --shards 4 --prefix staging on the same Redis"},
	} {
		got := progress.WorkerAdvice(tt.queue, tt.shards, tt.prefix)
		require.True(t, strings.HasPrefix(got, tt.want), got)
	}
}
