package main

import (
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/cli"
	"bitqueue/internal/redisconn"
)

func TestParseShards(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		args   []string
		env    map[string]string
		queues []string
	}{
		{"unsharded", nil, nil, []string{"bits"}},
		{"three shards", []string{"-shards", "3"}, nil, []string{"bits-0", "bits-1", "bits-2"}},
		{"shards by environment", []string{"-queue", "q"}, map[string]string{"BITQUEUE_SHARDS": "2"}, []string{"q-0", "q-1"}},
		{"each queue sharded", []string{"-queue", "a,b", "-shards", "2"}, nil, []string{"a-0", "a-1", "b-0", "b-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := parse(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			require.NoError(t, err)
			require.Equal(t, tt.queues, c.queues)
		})
	}
	_, err := parse([]string{"-shards", "0"}, func(string) string { return "" }, io.Discard)
	require.ErrorContains(t, err, "--shards 0 out of range")
	require.Equal(t, cli.ExitUsage, cli.ExitCode(err))
}

func TestParseRedisOptions(t *testing.T) {
	t.Parallel()
	env := map[string]string{"REDIS_PASSWORD": "pw", "REDIS_SENTINEL_PASSWORD": "spw", "BITQUEUE_REDIS_CA": "/etc/ca.pem"}
	c, err := parse([]string{"-redis-tls-server-name", "redis.example"}, func(k string) string { return env[k] }, io.Discard)
	require.NoError(t, err)
	require.Equal(t, redisconn.Options{Password: "pw", SentinelPassword: "spw", CAFile: "/etc/ca.pem", ServerName: "redis.example"}, c.redisOpts)
}
