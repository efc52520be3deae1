package cli_test

import (
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/cli"
	"bitqueue/internal/redisconn"
)

// sharedFlags embeds every shared flag.
type sharedFlags struct {
	Redis  cli.Redis     `embed:"" group:"Redis"`
	Wait   cli.RedisWait `embed:"" group:"Redis"`
	Prefix cli.Prefix    `embed:"" group:"Run"`
	Log    cli.Logging   `embed:"" group:"Logging"`
}

// TestSharedFlags checks the shared flags' defaults, their variables in
// every command whatever its prefix, and the checks that name a value as
// given.
func TestSharedFlags(t *testing.T) {
	t.Parallel()
	cmd := cli.Command{Name: "probe", Prefix: "BITQUEUE_PROBE_", Vars: map[string]string{"redis_wait": "30s"}}
	var f sharedFlags
	_, err := cli.Parse(cmd, &f, nil, getenv(nil), io.Discard)
	require.NoError(t, err)
	require.Equal(t, sharedFlags{
		Redis:  cli.Redis{URL: redisconn.DefaultURL},
		Wait:   cli.RedisWait{Wait: 30 * time.Second},
		Prefix: cli.Prefix{Prefix: "bitqueue"},
		Log:    cli.Logging{Format: "text", Level: "info"},
	}, f)

	docs, err := cli.Flags(cmd, &f, "")
	require.NoError(t, err)
	vars := map[string][]string{}
	for _, d := range docs {
		vars[d.Name] = d.Variables
	}
	require.Equal(t, map[string][]string{
		"redis": {"BITQUEUE_REDIS_URL", "REDIS_URL"}, "redis-ca": {"BITQUEUE_REDIS_CA"}, "redis-tls-server-name": {"BITQUEUE_REDIS_TLS_SERVER_NAME"},
		"redis-wait": {"BITQUEUE_REDIS_WAIT"}, "prefix": {"BITQUEUE_PREFIX"},
		"log-format": {cli.LogFormatVar}, "log-level": {"BITQUEUE_LOG_LEVEL"},
	}, vars)

	_, err = cli.Parse(cli.Command{Name: "x"}, &f, nil, getenv(nil), io.Discard)
	require.NoError(t, err)
	require.Equal(t, 10*time.Second, f.Wait.Wait, "the default of --redis-wait when the command gives none")

	tests := []struct {
		name string
		args []string
		vars map[string]string
		want string
	}{
		{"redis wait", []string{"--redis-wait", "0s"}, nil, "--redis-wait 0s must be positive"},
		{"redis wait by variable", nil, map[string]string{"BITQUEUE_REDIS_WAIT": "-1s"}, `BITQUEUE_REDIS_WAIT="-1s" must be positive`},
		{"prefix", nil, map[string]string{"BITQUEUE_PREFIX": "a b"}, `BITQUEUE_PREFIX="a b" must be non-empty without spaces`},
		{"empty prefix", []string{"--prefix="}, nil, `--prefix "" must be non-empty without spaces`},
		{"log format", nil, map[string]string{"BITQUEUE_LOG_FORMAT": "xml"}, "BITQUEUE_LOG_FORMAT=xml: want text or json"},
		{"log level", []string{"--log-level", "loud"}, nil, "--log-level loud: want debug, info, warn or error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var f sharedFlags
			p, err := cli.Parse(cmd, &f, tt.args, getenv(tt.vars), io.Discard)
			require.NoError(t, err)
			err = firstErr(f.Wait.Check(p), f.Prefix.Check(p), f.Log.Check(p))
			require.EqualError(t, err, tt.want)
			require.Equal(t, cli.ExitUsage, cli.ExitCode(err))
		})
	}
}

// firstErr returns the first error that is not nil.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
