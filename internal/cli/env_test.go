package cli_test

import (
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/cli"
	"bitqueue/internal/redisconn"
)

func TestAliases(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		variable string // as the grammar's var tag names it
		vars     map[string]string
		want     string
		source   string
	}{
		{"the BITQUEUE_ name", "BITQUEUE_REDIS_URL", map[string]string{"BITQUEUE_REDIS_URL": "redis://new:1/0"}, "redis://new:1/0", "BITQUEUE_REDIS_URL=redis://new:1/0"},
		{"the older name", "BITQUEUE_REDIS_URL", map[string]string{"REDIS_URL": "redis://old:1/0"}, "redis://old:1/0", "REDIS_URL=redis://old:1/0"},
		{"both: the BITQUEUE_ name wins", "BITQUEUE_REDIS_URL", map[string]string{"REDIS_URL": "redis://old:1/0", "BITQUEUE_REDIS_URL": "redis://new:1/0"}, "redis://new:1/0", "BITQUEUE_REDIS_URL=redis://new:1/0"},
		{"an empty BITQUEUE_ name is unset", "BITQUEUE_REDIS_URL", map[string]string{"REDIS_URL": "redis://old:1/0", "BITQUEUE_REDIS_URL": ""}, "redis://old:1/0", "REDIS_URL=redis://old:1/0"},
		{"a tag naming the older name reads the new one too", "REDIS_URL", map[string]string{"BITQUEUE_REDIS_URL": "redis://new:1/0"}, "redis://new:1/0", "BITQUEUE_REDIS_URL=redis://new:1/0"},
		{"a tag naming the older name: the new one wins", "REDIS_URL", map[string]string{"REDIS_URL": "redis://old:1/0", "BITQUEUE_REDIS_URL": "redis://new:1/0"}, "redis://new:1/0", "BITQUEUE_REDIS_URL=redis://new:1/0"},
		{"neither", "BITQUEUE_REDIS_URL", nil, "redis://127.0.0.1:6379/0", "--redis redis://127.0.0.1:6379/0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var c struct {
				cli.Redis `embed:""`
			}
			var old struct {
				URL string `name:"redis" var:"REDIS_URL" default:"${redis_url}" help:"Redis URL"`
			}
			grammar, url := any(&c), &c.URL
			if tt.variable == "REDIS_URL" {
				grammar, url = &old, &old.URL
			}
			p, err := cli.Parse(testCmd, grammar, nil, getenv(tt.vars), io.Discard)
			require.NoError(t, err)
			require.Equal(t, tt.want, *url)
			require.Equal(t, tt.source, p.Source("redis"))
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

// TestVarsOf checks the variables of a grammar's flags: derived from the
// name under the command's prefix, given by a var tag, or none; never for
// --version and -h.
func TestVarsOf(t *testing.T) {
	t.Parallel()
	var c struct {
		Redis  string `name:"redis" var:"BITQUEUE_REDIS_URL" help:"r"`
		Batch  int    `name:"batch-size" help:"b"`
		Secret bool   `name:"secret-thing" var:"-" help:"s"`
	}
	docs, err := cli.Flags(cli.Command{Name: "x", Prefix: "BITQUEUE_"}, &c, "")
	require.NoError(t, err)
	got := map[string][]string{}
	for _, d := range docs {
		got[d.Name] = d.Variables
	}
	require.Equal(t, map[string][]string{"redis": {"BITQUEUE_REDIS_URL", "REDIS_URL"}, "batch-size": {"BITQUEUE_BATCH_SIZE"}, "secret-thing": nil}, got)
}

// TestRedisOptions checks that the passwords, which have no flags, are read
// from their variables or their older names, and the TLS flags kept.
func TestRedisOptions(t *testing.T) {
	t.Parallel()
	env := map[string]string{"REDIS_PASSWORD": "a", "REDIS_SENTINEL_PASSWORD": "b", "REDIS_URL": "c"}
	got := cli.Redis{}.Options(getenv(env))
	require.Equal(t, redisconn.Options{Password: "a", SentinelPassword: "b"}, got)
	require.Equal(t, redisconn.Options{}, cli.Redis{}.Options(getenv(nil)))

	both := map[string]string{"REDIS_PASSWORD": "old", "BITQUEUE_REDIS_PASSWORD": "new", "REDIS_SENTINEL_PASSWORD": "s-old", "BITQUEUE_REDIS_SENTINEL_PASSWORD": ""}
	got = cli.Redis{}.Options(getenv(both))
	require.Equal(t, redisconn.Options{Password: "new", SentinelPassword: "s-old"}, got, "the BITQUEUE_ name wins; an empty one counts as unset")

	got = cli.Redis{CAFile: "ca.pem", ServerName: "redis.internal"}.Options(getenv(nil))
	require.Equal(t, redisconn.Options{CAFile: "ca.pem", ServerName: "redis.internal"}, got)
}
