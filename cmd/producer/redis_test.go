package main

import (
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/cli"
	"bitqueue/internal/redisconn"
)

func TestParseRedisAndShards(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		args   []string
		env    map[string]string
		shards int
		opts   redisconn.Options
	}{
		{"defaults", nil, nil, 1, redisconn.Options{}},
		{"shards by flag", []string{"-shards", "6"}, map[string]string{"BITQUEUE_SHARDS": "3"}, 6, redisconn.Options{}},
		{"shards by environment", nil, map[string]string{"BITQUEUE_SHARDS": "3"}, 3, redisconn.Options{}},
		{"passwords from the environment", nil, map[string]string{"REDIS_PASSWORD": "pw", "REDIS_SENTINEL_PASSWORD": "spw"}, 1,
			redisconn.Options{Password: "pw", SentinelPassword: "spw"}},
		{"TLS by flag", []string{"-redis-ca", "/etc/ca.pem", "-redis-tls-server-name", "redis.example"}, nil, 1,
			redisconn.Options{CAFile: "/etc/ca.pem", ServerName: "redis.example"}},
		{"TLS by environment", nil, map[string]string{"BITQUEUE_REDIS_CA": "/etc/ca.pem", "BITQUEUE_REDIS_TLS_SERVER_NAME": "redis.example"}, 1,
			redisconn.Options{CAFile: "/etc/ca.pem", ServerName: "redis.example"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := parse(append(tt.args, "-count", "1"), func(k string) string { return tt.env[k] }, io.Discard)
			require.NoError(t, err)
			require.Equal(t, tt.shards, c.Shards)
			require.Equal(t, tt.opts, c.redisOpts)
		})
	}
}

func TestParseShardsErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"zero", []string{"-shards", "0"}, "--shards 0 out of range [1, 256]"},
		{"too many", []string{"-shards", "257"}, "--shards 257 out of range [1, 256]"},
		{"with a schedule", []string{"-shards", "2", "-schedule", "@every 1m"}, `--shards 2 with --schedule "@every 1m" is not supported`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := parse(append(tt.args, "-count", "1"), func(string) string { return "" }, io.Discard)
			require.ErrorContains(t, err, tt.want)
			require.Equal(t, cli.ExitUsage, cli.ExitCode(err))
		})
	}
}
