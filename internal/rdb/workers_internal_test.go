package rdb

import (
	"testing"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"
)

func TestProcesses(t *testing.T) {
	t.Parallel()
	server := func(host string, pid int, queues ...string) *asynq.ServerInfo {
		qs := map[string]int{}
		for _, q := range queues {
			qs[q] = 1
		}
		return &asynq.ServerInfo{Host: host, PID: pid, Queues: qs}
	}
	tests := []struct {
		name    string
		servers []*asynq.ServerInfo
		queues  []string
		want    int
	}{
		{"none", nil, []string{"bits"}, 0},
		{"one server", []*asynq.ServerInfo{server("a", 1, "bits")}, []string{"bits"}, 1},
		{"the loops of one process count once", []*asynq.ServerInfo{server("a", 1, "bits"), server("a", 1, "bits"), server("a", 1, "bits")}, []string{"bits"}, 1},
		{"two processes of a host", []*asynq.ServerInfo{server("a", 1, "bits"), server("a", 2, "bits"), server("a", 2, "bits")}, []string{"bits"}, 2},
		{"the same pid on two hosts", []*asynq.ServerInfo{server("a", 1, "bits"), server("b", 1, "bits")}, []string{"bits"}, 2},
		{"a process serving several of the queues counts once", []*asynq.ServerInfo{server("a", 1, "bits-0", "bits-1")}, []string{"bits-0", "bits-1"}, 1},
		{"processes of other queues do not count", []*asynq.ServerInfo{server("a", 1, "other"), server("a", 2, "bits")}, []string{"bits"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, processes(tt.servers, tt.queues))
		})
	}
}
