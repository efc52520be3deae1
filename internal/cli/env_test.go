package cli_test

import (
	"flag"
	"testing"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/cli"
)

func TestAliases(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		variable string // as the command's env map names it
		vars     map[string]string
		want     string
		source   string
	}{
		{"the BITQUEUE_ name", "BITQUEUE_REDIS_URL", map[string]string{"BITQUEUE_REDIS_URL": "redis://new:1/0"}, "redis://new:1/0", "BITQUEUE_REDIS_URL=redis://new:1/0"},
		{"the older name", "BITQUEUE_REDIS_URL", map[string]string{"REDIS_URL": "redis://old:1/0"}, "redis://old:1/0", "REDIS_URL=redis://old:1/0"},
		{"both: the BITQUEUE_ name wins", "BITQUEUE_REDIS_URL", map[string]string{"REDIS_URL": "redis://old:1/0", "BITQUEUE_REDIS_URL": "redis://new:1/0"}, "redis://new:1/0", "BITQUEUE_REDIS_URL=redis://new:1/0"},
		{"an empty BITQUEUE_ name is unset", "BITQUEUE_REDIS_URL", map[string]string{"REDIS_URL": "redis://old:1/0", "BITQUEUE_REDIS_URL": ""}, "redis://old:1/0", "REDIS_URL=redis://old:1/0"},
		{"a map naming the older name reads the new one too", "REDIS_URL", map[string]string{"BITQUEUE_REDIS_URL": "redis://new:1/0"}, "redis://new:1/0", "BITQUEUE_REDIS_URL=redis://new:1/0"},
		{"a map naming the older name: the new one wins", "REDIS_URL", map[string]string{"REDIS_URL": "redis://old:1/0", "BITQUEUE_REDIS_URL": "redis://new:1/0"}, "redis://new:1/0", "BITQUEUE_REDIS_URL=redis://new:1/0"},
		{"neither", "BITQUEUE_REDIS_URL", nil, "redis://default:6379/0", "--redis redis://default:6379/0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fs, c := newFlags()
			require.NoError(t, cli.Parse(fs, nil, getenv(tt.vars), map[string]string{"redis": tt.variable}))
			require.Equal(t, tt.want, c.redis)
			require.Equal(t, tt.source, cli.Source(fs, "redis"))
		})
	}
}

func TestLookup(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"REDIS_PASSWORD": "old", "BQ_OTHER": "x"}
	from, v := cli.Lookup(getenv(vars), "BITQUEUE_REDIS_PASSWORD")
	require.Equal(t, "REDIS_PASSWORD", from)
	require.Equal(t, "old", v)
	from, v = cli.Lookup(getenv(vars), "BQ_OTHER")
	require.Equal(t, "BQ_OTHER", from)
	require.Equal(t, "x", v)
	from, v = cli.Lookup(getenv(vars), "BQ_NONE")
	require.Equal(t, "BQ_NONE", from)
	require.Empty(t, v)
}

func TestVarName(t *testing.T) {
	t.Parallel()
	tests := []struct{ prefix, flag, want string }{
		{"BITQUEUE_", "queue", "BITQUEUE_QUEUE"},
		{"BITQUEUE_", "redis-wait", "BITQUEUE_REDIS_WAIT"},
		{"BITQUEUE_", "redis-tls-server-name", "BITQUEUE_REDIS_TLS_SERVER_NAME"},
		{"BITQUEUE_PROBE_", "url", "BITQUEUE_PROBE_URL"},
	}
	for _, tt := range tests {
		t.Run(tt.flag, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, cli.VarName(tt.prefix, tt.flag))
		})
	}
}

func TestVarsOf(t *testing.T) {
	t.Parallel()
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.String("redis", "", "")
	fs.Int("batch-size", 1, "")
	fs.Bool("secret-thing", false, "")
	fs.Bool("version", false, "")
	got := cli.VarsOf(fs, "BITQUEUE_", map[string]string{"redis": "BITQUEUE_REDIS_URL", "secret-thing": ""})
	require.Equal(t, map[string]string{"redis": "BITQUEUE_REDIS_URL", "batch-size": "BITQUEUE_BATCH_SIZE"}, got)
}
