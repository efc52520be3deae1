package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWorkerAdvice(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		c    config
		want string
	}{
		{config{queue: "bits", shards: 1, prefix: "bitqueue"}, "start bin/worker on the same Redis"},
		{config{queue: "jobs", shards: 4, prefix: "staging"}, "start bin/worker --queue jobs --shards 4 --prefix staging on the same Redis"},
	} {
		require.True(t, strings.HasPrefix(workerAdvice(tt.c), tt.want), workerAdvice(tt.c))
	}
}
