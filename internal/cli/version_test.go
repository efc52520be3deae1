package cli_test

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/cli"
)

func TestVersion(t *testing.T) {
	t.Parallel()
	b := cli.Build()
	require.NotEmpty(t, b.Version)
	require.NotEmpty(t, b.Revision)
	require.Regexp(t, `^go1\.`, b.GoVersion)
	require.Regexp(t, regexp.MustCompile(`^testcmd \S+ \([^,]+(, modified)?, go1\.[^)]+\)$`), cli.Version("testcmd"))
}

func TestParseVersion(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--version"}, {"-version"}, {"--count", "3", "--version"}} {
		_, _, err := parse(t, args, map[string]string{"BQ_COUNT": "bad"})
		require.ErrorIs(t, err, cli.ErrVersion, "%v", args)
		require.Equal(t, cli.ExitOK, cli.ExitCode(err))
	}
	_, _, err := parse(t, []string{"--version=false"}, nil)
	require.NoError(t, err)
	_, _, err = parse(t, nil, map[string]string{"BQ_VERSION": "true", "BITQUEUE_VERSION": "true"})
	require.NoError(t, err, "--version has no variable")
}

// TestRunVersion checks that a command gets --version by parsing with cli:
// Run prints the version line on stdout and exits 0.
func TestRunVersion(t *testing.T) {
	t.Parallel()
	run := func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
		_, err := cli.Parse(testCmd, &config{}, args, getenv, stdout)
		return err
	}
	var stdout, stderr bytes.Buffer
	code := cli.Run(context.Background(), "testcmd", run, []string{"--version"}, getenv(nil), &stdout, &stderr)
	require.Equal(t, 0, code)
	require.Equal(t, cli.Version("testcmd")+"\n", stdout.String())
	require.Empty(t, stderr.String())
}
