package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/cli"
)

func TestLogFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		vars map[string]string
		want string
	}{
		{"default", nil, nil, "text"},
		{"flag", []string{"--log-format", "json"}, nil, "json"},
		{"flag with =", []string{"-log-format=json"}, nil, "json"},
		{"after other flags", []string{"--count", "3", "--log-format", "json", "--wait"}, nil, "json"},
		{"environment", nil, map[string]string{cli.LogFormatVar: "json"}, "json"},
		{"the flag wins", []string{"--log-format", "text"}, map[string]string{cli.LogFormatVar: "json"}, "text"},
		{"not after --", []string{"--", "--log-format", "json"}, nil, "text"},
		{"a flag without its value", []string{"--log-format"}, nil, "text"},
		{"a value is not a flag", []string{"--name", "log-format", "json"}, nil, "text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, cli.LogFormat(tt.args, getenv(tt.vars)))
		})
	}
}

func TestRunReportsTheError(t *testing.T) {
	t.Parallel()
	fail := func(err error) cli.RunFunc {
		return func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
			return err
		}
	}
	tests := []struct {
		name string
		args []string
		vars map[string]string
		err  error
		code int
		json bool
	}{
		{"text runtime error", nil, nil, errors.New("redis unreachable"), 1, false},
		{"text usage error", nil, nil, cli.Usagef("--count 0 out of range"), 2, false},
		{"json by flag", []string{"--log-format", "json"}, nil, errors.New("redis unreachable"), 1, true},
		{"json by environment", nil, map[string]string{cli.LogFormatVar: "json"}, cli.Usagef("BITQUEUE_SHARDS=0 out of range"), 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			code := cli.Run(context.Background(), "testcmd", fail(tt.err), tt.args, getenv(tt.vars), &stdout, &stderr)
			require.Equal(t, tt.code, code)
			require.Empty(t, stdout.String())
			if !tt.json {
				require.Equal(t, "testcmd: "+tt.err.Error()+"\n", stderr.String())
				return
			}
			lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
			require.Len(t, lines, 1)
			var got map[string]any
			require.NoError(t, json.Unmarshal([]byte(lines[0]), &got), lines[0])
			require.Equal(t, "ERROR", got["level"])
			require.Equal(t, "exit", got["msg"])
			require.Equal(t, tt.err.Error(), got["err"])
			require.EqualValues(t, tt.code, got["code"])
			require.NotEmpty(t, got["time"])
		})
	}
}

func TestRunQuietOnSuccessAndHelp(t *testing.T) {
	t.Parallel()
	for _, err := range []error{nil, cli.ErrHelp} {
		var stdout, stderr bytes.Buffer
		code := cli.Run(context.Background(), "testcmd", func(context.Context, []string, func(string) string, io.Writer, io.Writer) error { return err },
			[]string{"--log-format", "json"}, getenv(nil), &stdout, &stderr)
		require.Equal(t, 0, code)
		require.Empty(t, stderr.String())
	}
}

// TestRunRefusedLogFormatIsText checks that a command without --log-format
// reports that it refuses the flag as text, not in the format it refused;
// a command that has the flag reports its errors in it.
func TestRunRefusedLogFormatIsText(t *testing.T) {
	t.Parallel()
	parseOnly := func(withLogFormat bool) cli.RunFunc {
		return func(_ context.Context, args []string, getenv func(string) string, stdout, _ io.Writer) error {
			var without struct {
				Count int `name:"count" default:"1" help:"how many"`
			}
			var with struct {
				Count int         `name:"count" default:"1" help:"how many"`
				Log   cli.Logging `embed:""`
			}
			grammar := any(&without)
			if withLogFormat {
				grammar = &with
			}
			_, err := cli.Parse(cli.Command{Name: "testcmd", Prefix: "BQ_"}, grammar, args, getenv, stdout)
			return err
		}
	}
	var stdout, stderr bytes.Buffer
	code := cli.Run(context.Background(), "testcmd", parseOnly(false), []string{"--log-format", "json"}, getenv(nil), &stdout, &stderr)
	require.Equal(t, cli.ExitUsage, code)
	require.Equal(t, "testcmd: unknown flag --log-format (see testcmd -h)\n", stderr.String())

	stderr.Reset()
	code = cli.Run(context.Background(), "testcmd", parseOnly(true), []string{"--log-format", "json", "--bogus"}, getenv(nil), &stdout, &stderr)
	require.Equal(t, cli.ExitUsage, code)
	var got map[string]any
	require.NoError(t, json.Unmarshal(stderr.Bytes(), &got), stderr.String())
	require.Equal(t, "unknown flag --bogus (see testcmd -h)", got["err"])
}
