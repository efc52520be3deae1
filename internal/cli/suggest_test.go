package cli_test

import (
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/cli"
)

// commands is a command with the producer's subcommands.
type commands struct {
	Main    config   `cmd:"" default:"withargs" hidden:""`
	Status  struct{} `cmd:"" help:"s"`
	Requeue struct{} `cmd:"" help:"r"`
	Results struct{} `cmd:"" help:"r"`
	List    struct{} `cmd:"" help:"l"`
	Delete  struct{} `cmd:"" help:"d"`
}

func TestDidYouMean(t *testing.T) {
	t.Parallel()
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
			_, err := cli.Parse(testCmd, &commands{}, tt.args, getenv(nil), io.Discard)
			require.EqualError(t, err, tt.want)
			require.Equal(t, cli.ExitUsage, cli.ExitCode(err))
		})
	}
	_, err := cli.Parse(testCmd, &commands{}, []string{"-bogus"}, getenv(nil), io.Discard)
	require.EqualError(t, err, "unknown flag --bogus (see test -h)", "other errors unchanged")
	_, err = cli.Parse(testCmd, &config{}, []string{"stauts"}, getenv(nil), io.Discard)
	require.EqualError(t, err, `unexpected argument "stauts"`, "a command without subcommands suggests none")
}
