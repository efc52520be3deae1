package cli_test

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/cli"
)

// grouped is a command with a subcommand: the flags of the command itself
// in a hidden default subcommand, the flags both share on the root.
type grouped struct {
	Log  cli.Logging `embed:"" group:"Logging"`
	Main groupedMain `cmd:"" default:"withargs" hidden:""`
	Sub  groupedSub  `cmd:"" help:"does the other thing"`
}

type groupedMain struct {
	Count   int           `name:"count" default:"10" group:"Input" help:"how many integers, 1..100"`
	Name    string        `name:"name" var:"-" placeholder:"id" group:"Input" help:"run id"`
	Redis   string        `name:"redis" var:"BITQUEUE_REDIS_URL" default:"redis://default:6379/0" placeholder:"URL" group:"Redis" help:"Redis URL"`
	Timeout time.Duration `name:"timeout" default:"1m" group:"Redis" help:"how long to wait"`
	Verbose bool          `name:"verbose" help:"log more"`
	Zero    uint64        `name:"zero" default:"0" help:"a zero default is not shown"`
}

type groupedSub struct {
	Probe string `name:"url" var:"BQ_SUB_URL" default:"http://x/" group:"Sub" help:"where"`
}

func (grouped) Usage() cli.Usage {
	return cli.Usage{
		Synopsis: []string{"grouped [flags]", "grouped sub [flags]"},
		Examples: []string{"grouped --count 3", "BQ_COUNT=3 grouped"},
	}
}

func (groupedSub) Usage() cli.Usage {
	return cli.Usage{Examples: []string{"grouped sub --url http://y/"}}
}

var groupedCmd = cli.Command{Name: "grouped", Prefix: "BQ_"}

// sharedHelp is the end of the help of grouped and of its subcommand alike:
// the flags both share, then --version, -h and the examples' heading.
const sharedHelp = `Logging:
  --log-format format
    	log format: text or json (the final error line too) (default text) [$BITQUEUE_LOG_FORMAT]
  --log-level level
    	log level: debug, info, warn or error (default info) [$BITQUEUE_LOG_LEVEL]

Other:
  --version
    	print the version and exit
  -h, --help
    	print this help

Examples:
`

// TestHelp checks -h of a command and of its subcommand: the synopsis, the
// subcommands, the flags by group (those of no group first), each with its
// kind of value, default and variables, then --version, -h and the
// examples.
func TestHelp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"command", []string{"-h"}, `Usage: grouped [flags]
       grouped sub [flags]

Commands:
  sub        does the other thing

Flags:
  --verbose
    	log more [$BQ_VERBOSE]
  --zero uint
    	a zero default is not shown [$BQ_ZERO]

Input:
  --count int
    	how many integers, 1..100 (default 10) [$BQ_COUNT]
  --name id
    	run id

Redis:
  --redis URL
    	Redis URL (default redis://default:6379/0) [$BITQUEUE_REDIS_URL, $REDIS_URL]
  --timeout duration
    	how long to wait (default 1m) [$BQ_TIMEOUT]

` + sharedHelp + `  grouped --count 3
  BQ_COUNT=3 grouped
`},
		{"subcommand", []string{"sub", "--help"}, `Usage: grouped sub [flags]

Sub:
  --url string
    	where (default http://x/) [$BQ_SUB_URL]

` + sharedHelp + `  grouped sub --url http://y/
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			_, err := cli.Parse(groupedCmd, &grouped{}, tt.args, getenv(nil), &out)
			require.ErrorIs(t, err, cli.ErrHelp)
			require.Equal(t, tt.want, out.String())
		})
	}
	var sub bytes.Buffer
	_, err := cli.Parse(groupedCmd, &grouped{}, []string{"-h", "sub"}, getenv(nil), &sub)
	require.ErrorIs(t, err, cli.ErrHelp)
	require.True(t, strings.HasPrefix(sub.String(), "Usage: grouped sub [flags]\n"), "-h before the subcommand: %s", sub.String())
}

// TestFlags checks the flags Flags lists, as -h shows them.
func TestFlags(t *testing.T) {
	t.Parallel()
	docs, err := cli.Flags(groupedCmd, &grouped{}, "")
	require.NoError(t, err)
	vars := map[string][]string{}
	for _, d := range docs {
		vars[d.Name] = d.Variables
	}
	require.Equal(t, map[string][]string{
		"count": {"BQ_COUNT"}, "name": nil, "redis": {"BITQUEUE_REDIS_URL", "REDIS_URL"}, "timeout": {"BQ_TIMEOUT"},
		"verbose": {"BQ_VERBOSE"}, "zero": {"BQ_ZERO"}, "log-format": {"BITQUEUE_LOG_FORMAT"}, "log-level": {"BITQUEUE_LOG_LEVEL"},
	}, vars)
	docs, err = cli.Flags(groupedCmd, &grouped{}, "sub")
	require.NoError(t, err)
	require.Equal(t, "url", docs[0].Name)
	require.Equal(t, "Sub", docs[0].Group)
	require.Equal(t, "http://x/", docs[0].Default)
	_, err = cli.Flags(groupedCmd, &grouped{}, "nope")
	require.Error(t, err)
}

// TestSubcommands checks that a subcommand's flags may come before or
// after it, that a value spelled like a subcommand is a value, and that
// each subcommand takes only its own flags and the shared ones.
func TestSubcommands(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		command string
		url     string
		format  string
		err     string
	}{
		{"none", []string{"--count", "5"}, "", "http://x/", "text", ""},
		{"first", []string{"sub", "--url", "u"}, "sub", "u", "text", ""},
		{"its flag before it", []string{"--url", "u", "sub"}, "sub", "u", "text", ""},
		{"its flag before it, with =", []string{"--url=u", "sub", "--log-format", "json"}, "sub", "u", "json", ""},
		{"single dashes", []string{"-log-format", "json", "sub", "-url", "u"}, "sub", "u", "json", ""},
		{"a shared flag before it", []string{"--log-format", "json", "sub"}, "sub", "http://x/", "json", ""},
		{"a value spelled like it", []string{"--name", "sub", "--count", "1"}, "", "http://x/", "text", ""},
		{"a value spelled like it, then it", []string{"--url", "sub", "sub"}, "sub", "sub", "text", ""},
		{"not after --", []string{"--count", "1", "--", "sub"}, "", "", "", `unexpected argument "sub"`},
		{"the command's flag with the subcommand", []string{"sub", "--count", "1"}, "", "", "", "unknown flag --count (see grouped sub -h)"},
		{"the command's flag before the subcommand", []string{"--count", "1", "sub"}, "", "", "", "unknown flag --count (see grouped sub -h)"},
		{"the subcommand's flag without it", []string{"--url", "u"}, "", "", "", "unknown flag --url (see grouped -h)"},
		{"the hidden default by name", []string{"main"}, "", "", "", `unexpected argument "main"`},
		{"misspelt", []string{"--count", "1", "sbu"}, "", "", "", `unknown command "sbu" (did you mean sub?)`},
		{"an argument after it", []string{"sub", "extra"}, "", "", "", `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := &grouped{}
			p, err := cli.Parse(groupedCmd, g, tt.args, getenv(nil), io.Discard)
			if tt.err != "" {
				require.EqualError(t, err, tt.err)
				require.Equal(t, cli.ExitUsage, cli.ExitCode(err))
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.command, p.Command)
			require.Equal(t, tt.url, g.Sub.Probe)
			require.Equal(t, tt.format, g.Log.Format)
		})
	}
}
