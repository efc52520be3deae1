package cli_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
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

// config is what the test command's flags set.
type config struct {
	redis   string
	count   int
	verbose bool
	timeout time.Duration
	name    string // a flag without an environment variable
}

var env = map[string]string{
	"redis":   "BQ_REDIS",
	"count":   "BQ_COUNT",
	"verbose": "BQ_VERBOSE",
	"timeout": "BQ_TIMEOUT",
}

func newFlags() (*flag.FlagSet, *config) {
	c := &config{}
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.StringVar(&c.redis, "redis", "redis://default:6379/0", "Redis `URL`")
	fs.IntVar(&c.count, "count", 10, "how many integers")
	fs.BoolVar(&c.verbose, "verbose", false, "log more")
	fs.DurationVar(&c.timeout, "timeout", time.Minute, "how long to wait")
	fs.StringVar(&c.name, "name", "", "run `id`")
	return fs, c
}

// getenv returns a getenv reading vars.
func getenv(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestParse(t *testing.T) {
	t.Parallel()
	defaults := config{redis: "redis://default:6379/0", count: 10, timeout: time.Minute}
	tests := []struct {
		name string
		args []string
		vars map[string]string
		want config
	}{
		{"defaults", nil, nil, defaults},
		{"env over default", nil,
			map[string]string{"BQ_REDIS": "redis://env:6379/1", "BQ_COUNT": "7", "BQ_VERBOSE": "true", "BQ_TIMEOUT": "5s"},
			config{redis: "redis://env:6379/1", count: 7, verbose: true, timeout: 5 * time.Second}},
		{"flag over env", []string{"-redis", "redis://flag:6379/2", "-count=3", "-verbose=false", "-timeout", "1h"},
			map[string]string{"BQ_REDIS": "redis://env:6379/1", "BQ_COUNT": "7", "BQ_VERBOSE": "true", "BQ_TIMEOUT": "5s"},
			config{redis: "redis://flag:6379/2", count: 3, verbose: false, timeout: time.Hour}},
		{"flag set to the default still wins", []string{"-count", "10"}, map[string]string{"BQ_COUNT": "7"}, defaults},
		{"flag set to empty still wins", []string{"-redis="}, map[string]string{"BQ_REDIS": "redis://env:6379/1"},
			config{redis: "", count: 10, timeout: time.Minute}},
		{"empty env is unset", nil, map[string]string{"BQ_COUNT": "", "BQ_REDIS": ""}, defaults},
		{"some flags, some env", []string{"--count", "5"}, map[string]string{"BQ_COUNT": "7", "BQ_TIMEOUT": "2m"},
			config{redis: "redis://default:6379/0", count: 5, timeout: 2 * time.Minute}},
		{"other variables are ignored", nil, map[string]string{"COUNT": "7", "NAME": "x"}, defaults},
		{"flag without a variable", []string{"-name", "run-1"}, nil,
			config{redis: "redis://default:6379/0", count: 10, timeout: time.Minute, name: "run-1"}},
		{"-- ends the flags", []string{"-count", "4", "--"}, nil,
			config{redis: "redis://default:6379/0", count: 4, timeout: time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fs, got := newFlags()
			require.NoError(t, cli.Parse(fs, tt.args, getenv(tt.vars), env))
			require.Equal(t, tt.want, *got)
		})
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		vars map[string]string
		env  map[string]string
		want string // the whole message
	}{
		{"bad env int", nil, map[string]string{"BQ_COUNT": "many"}, env, "BQ_COUNT=many (for --count): want a whole number"},
		{"bad env bool", nil, map[string]string{"BQ_VERBOSE": "sure"}, env, "BQ_VERBOSE=sure (for --verbose): want true or false"},
		{"bad env duration", nil, map[string]string{"BQ_TIMEOUT": "5"}, env, "BQ_TIMEOUT=5 (for --timeout): want a duration such as 500ms, 30s, 5m or 1h30m"},
		{"bad env value with spaces", nil, map[string]string{"BQ_COUNT": "1 000"}, env, `BQ_COUNT="1 000" (for --count): want a whole number`},
		{"bad flag value", []string{"-count", "many"}, nil, env, "--count many: want a whole number"},
		{"negative unsigned value", []string{"--max", "-5"}, nil, env, `--max "-5": want a whole number, 0 or more`},
		{"range from the usage", []string{"--workers=x"}, nil, env, "--workers x: want a whole number from 1 to 64"},
		{"bad bool flag", []string{"--verbose=sure"}, nil, env, "--verbose sure: want true or false"},
		{"bad duration flag", []string{"--timeout", "10"}, nil, env, "--timeout 10: want a duration such as 500ms, 30s, 5m or 1h30m"},
		{"the flag's value is named even when the env is good", []string{"-count", "many"}, map[string]string{"BQ_COUNT": "7"}, env, "--count many: want a whole number"},
		{"unknown flag", []string{"-bogus"}, nil, env, "unknown flag --bogus (see test -h)"},
		{"missing flag value", []string{"-count"}, nil, env, "--count needs a value"},
		{"positional argument", []string{"extra"}, nil, env, `unexpected argument "extra"`},
		{"positional argument after flags", []string{"-count", "3", "a", "b"}, nil, env, `unexpected argument "a"`},
		{"positional argument after --", []string{"--", "-count"}, nil, env, `unexpected argument "-count"`},
		{"variable for an unknown flag", nil, map[string]string{"BQ_X": "1"}, map[string]string{"x": "BQ_X"}, "BQ_X names an environment variable for --x, which the command does not have"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fs, _ := newFlags()
			fs.Uint64("max", 1<<20, "largest integer")
			fs.Int("workers", 2, "worker processes, 1..64")
			err := cli.Parse(fs, tt.args, getenv(tt.vars), tt.env)
			var ue *cli.UsageError
			require.ErrorAs(t, err, &ue)
			require.Equal(t, cli.ExitUsage, cli.ExitCode(err))
			require.Equal(t, tt.want, err.Error())
			require.NotContains(t, err.Error(), "invalid value", "never the flag package's own message")
		})
	}
}

func TestParseHelp(t *testing.T) {
	t.Parallel()
	for _, arg := range []string{"-h", "-help", "--help"} {
		t.Run(arg, func(t *testing.T) {
			t.Parallel()
			fs, _ := newFlags()
			var out bytes.Buffer
			fs.SetOutput(&out)
			err := cli.Parse(fs, []string{"-count", "3", arg}, getenv(map[string]string{"BQ_COUNT": "bad"}), env)
			require.ErrorIs(t, err, flag.ErrHelp)
			var ue *cli.UsageError
			require.False(t, errors.As(err, &ue), "help is not a usage error")
			require.Equal(t, cli.ExitOK, cli.ExitCode(err))
			require.Empty(t, out.String(), "Parse prints nothing; the command prints its usage")
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
		{"help", flag.ErrHelp, 0},
		{"wrapped help", fmt.Errorf("parse: %w", flag.ErrHelp), 0},
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

func TestPrintUsage(t *testing.T) {
	t.Parallel()
	fs, _ := newFlags()
	var out bytes.Buffer
	cli.PrintUsage(&out, fs, "test [flags]", env)
	require.Equal(t, `Usage: test [flags]

Flags:
  --count int
    	how many integers (default 10) [$BQ_COUNT]
  --name id
    	run id
  --redis URL
    	Redis URL (default redis://default:6379/0) [$BQ_REDIS]
  --timeout duration
    	how long to wait (default 1m0s) [$BQ_TIMEOUT]
  --verbose
    	log more [$BQ_VERBOSE]

Other:
  --version
    	print the version and exit
  -h, --help
    	print this help
`, out.String())
}

func TestPrintUsageZeroDefaults(t *testing.T) {
	t.Parallel()
	fs := flag.NewFlagSet("zero", flag.ContinueOnError)
	fs.Int("n", 0, "an int")
	fs.Bool("b", false, "a bool")
	fs.String("s", "", "a string")
	fs.Duration("d", 0, "a duration")
	var out bytes.Buffer
	cli.PrintUsage(&out, fs, "zero", map[string]string{"n": "ZERO_N"})
	require.NotContains(t, out.String(), "default", "zero defaults are not shown")
	require.Contains(t, out.String(), "an int [$ZERO_N]\n")
	require.Equal(t, 1, strings.Count(out.String(), "[$"), "only flags with a variable name one")
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
				return flag.ErrHelp
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
