package cli_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/cli"
)

func TestQueueList(t *testing.T) {
	t.Parallel()
	good := []struct {
		list string
		want []string
	}{
		{"bits", []string{"bits"}},
		{"a,b", []string{"a", "b"}},
		{" a , b ", []string{"a", "b"}},
		{"a,,b,", []string{"a", "b"}},
	}
	for _, tt := range good {
		got, err := cli.QueueList(tt.list, "--queue X")
		require.NoError(t, err, "%q", tt.list)
		require.Equal(t, tt.want, got, "%q", tt.list)
	}
	bad := []struct {
		list, want string
	}{
		{",", "--queue X names no queue"},
		{" , ", "--queue X names no queue"},
		{"a,b c", `--queue X: queue "b c" must be non-empty without spaces`},
		{"a,{b}", `--queue X: queue "{b}" must not hold { or }`},
	}
	for _, tt := range bad {
		_, err := cli.QueueList(tt.list, "--queue X")
		require.Equal(t, cli.ExitUsage, cli.ExitCode(err), "%q", tt.list)
		require.ErrorContains(t, err, tt.want)
	}
}
