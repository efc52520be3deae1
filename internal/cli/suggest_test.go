package cli_test

import (
	"flag"
	"testing"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/cli"
)

func TestDidYouMean(t *testing.T) {
	t.Parallel()
	commands := []string{"status", "requeue", "results", "list", "delete"}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"stauts"}, `unknown command "stauts" (did you mean status?)`},
		{[]string{"statuss"}, `unknown command "statuss" (did you mean status?)`},
		{[]string{"Status"}, `unknown command "Status" (did you mean status?)`},
		{[]string{"stat"}, `unknown command "stat" (did you mean status?)`},
		{[]string{"reqeueu"}, `unknown command "reqeueu" (did you mean requeue?)`},
		{[]string{"result"}, `unknown command "result" (did you mean results?)`},
		{[]string{"lsit"}, `unknown command "lsit" (did you mean list?)`},
		{[]string{"lst"}, `unknown command "lst" (did you mean list?)`},
		{[]string{"delte"}, `unknown command "delte" (did you mean delete?)`},
		{[]string{"-count", "3", "stauts"}, `unknown command "stauts" (did you mean status?)`},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"lots"}, `unexpected argument "lots"`},
		{[]string{"st"}, `unexpected argument "st"`},
		{[]string{"--", "status"}, `unexpected argument "status"`},
	}
	for _, tt := range tests {
		t.Run(tt.args[len(tt.args)-1], func(t *testing.T) {
			t.Parallel()
			fs, _ := newFlags()
			err := cli.DidYouMean(cli.Parse(fs, tt.args, getenv(nil), env), commands...)
			require.EqualError(t, err, tt.want)
			require.Equal(t, cli.ExitUsage, cli.ExitCode(err))
		})
	}
	fs, _ := newFlags()
	err := cli.DidYouMean(cli.Parse(fs, []string{"-bogus"}, getenv(nil), env), commands...)
	require.EqualError(t, err, "unknown flag --bogus (see test -h)", "other errors unchanged")
	require.NoError(t, cli.DidYouMean(nil, commands...))
}

// TestFlagSetSuggestsItsCommands checks that a FlagSet suggests the
// subcommands it lists.
func TestFlagSetSuggestsItsCommands(t *testing.T) {
	t.Parallel()
	fs := cli.NewFlagSet("worker", "BQ_")
	fs.Command("probe", "ask a worker whether it is ready")
	fs.Int("concurrency", 8, "batches at once")
	require.EqualError(t, fs.Parse([]string{"prob"}, getenv(nil)), `unknown command "prob" (did you mean probe?)`)
	require.EqualError(t, fs.Parse([]string{"extra"}, getenv(nil)), `unexpected argument "extra"`)
	require.ErrorIs(t, fs.Parse([]string{"-h"}, getenv(nil)), flag.ErrHelp)
}
