package cli_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/cli"
)

// config is the test command's grammar: a flag of each kind, variables
// derived from the names (BQ_COUNT) or given (BQ_REDIS), a flag without one.
type config struct {
	Redis   string        `name:"redis" var:"BQ_REDIS" default:"redis://default:6379/0" placeholder:"URL" help:"Redis URL"`
	Count   int           `name:"count" default:"10" help:"how many integers"`
	Verbose bool          `name:"verbose" help:"log more"`
	Timeout time.Duration `name:"timeout" default:"1m" help:"how long to wait"`
	Name    string        `name:"name" var:"-" placeholder:"id" help:"run id"`
}

// testCmd is the test command.
var testCmd = cli.Command{Name: "test", Prefix: "BQ_"}

// getenv returns a getenv reading vars.
func getenv(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// parse parses args and vars into a new config.
func parse(t *testing.T, args []string, vars map[string]string) (*config, *cli.Parsed, error) {
	t.Helper()
	c := &config{}
	p, err := cli.Parse(testCmd, c, args, getenv(vars), io.Discard)
	return c, p, err
}

func TestParse(t *testing.T) {
	t.Parallel()
	defaults := config{Redis: "redis://default:6379/0", Count: 10, Timeout: time.Minute}
	tests := []struct {
		name string
		args []string
		vars map[string]string
		want config
	}{
		{"defaults", nil, nil, defaults},
		{"env over default", nil,
			map[string]string{"BQ_REDIS": "redis://env:6379/1", "BQ_COUNT": "7", "BQ_VERBOSE": "true", "BQ_TIMEOUT": "5s"},
			config{Redis: "redis://env:6379/1", Count: 7, Verbose: true, Timeout: 5 * time.Second}},
		{"flag over env", []string{"-redis", "redis://flag:6379/2", "-count=3", "-verbose=false", "-timeout", "1h"},
			map[string]string{"BQ_REDIS": "redis://env:6379/1", "BQ_COUNT": "7", "BQ_VERBOSE": "true", "BQ_TIMEOUT": "5s"},
			config{Redis: "redis://flag:6379/2", Count: 3, Verbose: false, Timeout: time.Hour}},
		{"flag set to the default still wins", []string{"-count", "10"}, map[string]string{"BQ_COUNT": "7"}, defaults},
		{"flag set to empty still wins", []string{"-redis="}, map[string]string{"BQ_REDIS": "redis://env:6379/1"},
			config{Redis: "", Count: 10, Timeout: time.Minute}},
		{"empty env is unset", nil, map[string]string{"BQ_COUNT": "", "BQ_REDIS": ""}, defaults},
		{"some flags, some env", []string{"--count", "5"}, map[string]string{"BQ_COUNT": "7", "BQ_TIMEOUT": "2m"},
			config{Redis: "redis://default:6379/0", Count: 5, Timeout: 2 * time.Minute}},
		{"other variables are ignored", nil, map[string]string{"COUNT": "7", "NAME": "x", "BQ_NAME": "x"}, defaults},
		{"flag without a variable", []string{"-name", "run-1"}, nil,
			config{Redis: "redis://default:6379/0", Count: 10, Timeout: time.Minute, Name: "run-1"}},
		{"-- ends the flags", []string{"-count", "4", "--"}, nil,
			config{Redis: "redis://default:6379/0", Count: 4, Timeout: time.Minute}},
		{"a value that starts with a dash", []string{"--name", "-x", "--count", "-3"}, nil,
			config{Redis: "redis://default:6379/0", Count: -3, Timeout: time.Minute, Name: "-x"}},
		{"a value that is a flag's name", []string{"--name", "--count"}, nil,
			config{Redis: "redis://default:6379/0", Count: 10, Timeout: time.Minute, Name: "--count"}},
		{"the last of a flag given twice", []string{"--count", "1", "-count=2"}, nil,
			config{Redis: "redis://default:6379/0", Count: 2, Timeout: time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, _, err := parse(t, tt.args, tt.vars)
			require.NoError(t, err)
			require.Equal(t, tt.want, *got)
		})
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	type wider struct {
		config
		Max     uint64 `name:"max" default:"1048576" help:"largest integer"`
		Workers int    `name:"workers" default:"2" help:"worker processes, 1..64"`
	}
	tests := []struct {
		name string
		args []string
		vars map[string]string
		want string // the whole message
	}{
		{"bad env int", nil, map[string]string{"BQ_COUNT": "many"}, "BQ_COUNT=many (for --count): want a whole number"},
		{"bad env bool", nil, map[string]string{"BQ_VERBOSE": "sure"}, "BQ_VERBOSE=sure (for --verbose): want true or false"},
		{"bad env duration", nil, map[string]string{"BQ_TIMEOUT": "5"}, "BQ_TIMEOUT=5 (for --timeout): want a duration such as 500ms, 30s, 5m or 1h30m"},
		{"bad env value with spaces", nil, map[string]string{"BQ_COUNT": "1 000"}, `BQ_COUNT="1 000" (for --count): want a whole number`},
		{"bad flag value", []string{"-count", "many"}, nil, "--count many: want a whole number"},
		{"negative unsigned value", []string{"--max", "-5"}, nil, `--max "-5": want a whole number, 0 or more`},
		{"range from the help", []string{"--workers=x"}, nil, "--workers x: want a whole number from 1 to 64"},
		{"bad bool flag", []string{"--verbose=sure"}, nil, "--verbose sure: want true or false"},
		{"bad duration flag", []string{"--timeout", "10"}, nil, "--timeout 10: want a duration such as 500ms, 30s, 5m or 1h30m"},
		{"the flag's value is named even when the env is good", []string{"-count", "many"}, map[string]string{"BQ_COUNT": "7"}, "--count many: want a whole number"},
		{"unknown flag", []string{"-bogus"}, nil, "unknown flag --bogus (see test -h)"},
		{"unknown flag with two dashes and a value", []string{"--bogus=1"}, nil, "unknown flag --bogus (see test -h)"},
		{"unknown short flag", []string{"-x"}, nil, "unknown flag --x (see test -h)"},
		{"missing flag value", []string{"-count"}, nil, "--count needs a value"},
		{"positional argument", []string{"extra"}, nil, `unexpected argument "extra"`},
		{"positional argument after flags", []string{"-count", "3", "a", "b"}, nil, `unexpected argument "a"`},
		{"positional argument after --", []string{"--", "-count"}, nil, `unexpected argument "-count"`},
		{"a lone dash", []string{"-"}, nil, `unexpected argument "-"`},
		{"a switch's value is an argument", []string{"--verbose", "false"}, nil, `unexpected argument "false"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := cli.Parse(testCmd, &wider{}, tt.args, getenv(tt.vars), io.Discard)
			var ue *cli.UsageError
			require.ErrorAs(t, err, &ue)
			require.Equal(t, cli.ExitUsage, cli.ExitCode(err))
			require.Equal(t, tt.want, err.Error())
			require.NotContains(t, err.Error(), "but got", "never kong's own message")
		})
	}
}

// TestParseGrammarMistake checks that a grammar kong refuses is the
// command's mistake, a plain error, not the user's.
func TestParseGrammarMistake(t *testing.T) {
	t.Parallel()
	type twice struct {
		A int `name:"n" help:"one"`
		B int `name:"n" help:"two"`
	}
	_, err := cli.Parse(testCmd, &twice{}, nil, getenv(nil), io.Discard)
	require.Error(t, err)
	require.Equal(t, cli.ExitFailure, cli.ExitCode(err))
	type undefined struct {
		A int `name:"a" default:"${nowhere}" help:"a"`
	}
	_, err = cli.Parse(testCmd, &undefined{}, nil, getenv(nil), io.Discard)
	require.ErrorContains(t, err, "nowhere")
	type badDefault struct {
		A int `name:"a" default:"0x1" help:"a"`
	}
	_, err = cli.Parse(testCmd, &badDefault{}, nil, getenv(nil), io.Discard)
	require.ErrorContains(t, err, "the default of --a, 0x1")
	require.Equal(t, cli.ExitFailure, cli.ExitCode(err))
}

func TestParseHelp(t *testing.T) {
	t.Parallel()
	for _, arg := range []string{"-h", "-help", "--help"} {
		t.Run(arg, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			_, err := cli.Parse(testCmd, &config{}, []string{"-count", "3", arg}, getenv(map[string]string{"BQ_COUNT": "bad"}), &out)
			require.ErrorIs(t, err, cli.ErrHelp)
			var ue *cli.UsageError
			require.False(t, errors.As(err, &ue), "help is not a usage error")
			require.Equal(t, cli.ExitOK, cli.ExitCode(err))
			require.True(t, strings.HasPrefix(out.String(), "Usage: test [flags]\n"), out.String())
		})
	}
}

func TestExitCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, 0},
		{"help", cli.ErrHelp, 0},
		{"wrapped help", fmt.Errorf("parse: %w", cli.ErrHelp), 0},
		{"version", cli.ErrVersion, 0},
		{"usage error", &cli.UsageError{Err: errors.New("bad flag")}, 2},
		{"Usagef", cli.Usagef("-count %d out of range", -1), 2},
		{"wrapped usage error", fmt.Errorf("producer: %w", cli.Usagef("bad input")), 2},
		{"twice wrapped usage error", fmt.Errorf("a: %w", fmt.Errorf("b: %w", cli.Usagef("bad input"))), 2},
		{"joined usage error", errors.Join(errors.New("x"), cli.Usagef("bad input")), 2},
		{"other", errors.New("redis unreachable"), 1},
		{"context canceled", context.Canceled, 1},
		{"deadline", fmt.Errorf("wait: %w", context.DeadlineExceeded), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, cli.ExitCode(tt.err))
		})
	}
	require.Equal(t, 0, cli.ExitOK)
	require.Equal(t, 1, cli.ExitFailure)
	require.Equal(t, 2, cli.ExitUsage)
}

func TestUsageError(t *testing.T) {
	t.Parallel()
	inner := errors.New("bad input")
	err := cli.Usagef("reading %s: %w", "nums.txt", inner)
	require.Equal(t, "reading nums.txt: bad input", err.Error())
	require.ErrorIs(t, err, inner, "Usagef wraps with %%w")
	var ue *cli.UsageError
	require.ErrorAs(t, err, &ue)
	require.Equal(t, "reading nums.txt: bad input", ue.Unwrap().Error())
}

// TestMain lets TestMainExit run cli.Main in a child process, since it exits.
func TestMain(m *testing.M) {
	if mode := os.Getenv("CLI_TEST_MAIN"); mode != "" {
		cli.Main("testcmd", func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
			switch mode {
			case "ok":
				fmt.Fprintln(stdout, "hello", strings.Join(args, ","), getenv("CLI_TEST_VALUE"))
				return nil
			case "usage":
				return cli.Usagef("bad flag %q", "-x")
			case "help":
				return cli.ErrHelp
			default:
				return errors.New("redis unreachable")
			}
		})
	}
	os.Exit(m.Run())
}

func TestMainExit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		mode       string
		code       int
		stdout     string
		stderr     string
		emptyError bool
	}{
		{"ok", 0, "hello a,b v\n", "", true},
		{"usage", 2, "", "testcmd: bad flag \"-x\"\n", false},
		{"help", 0, "", "", true},
		{"fail", 1, "", "testcmd: redis unreachable\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "a", "b")
			cmd.Env = append(os.Environ(), "CLI_TEST_MAIN="+tt.mode, "CLI_TEST_VALUE=v")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, tt.code, code, "exit code; stderr: %s", stderr.String())
			require.Equal(t, tt.stdout, stdout.String())
			require.Equal(t, tt.stderr, stderr.String())
		})
	}
}
