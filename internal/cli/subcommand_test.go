package cli_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/cli"
)

func TestSubcommand(t *testing.T) {
	t.Parallel()
	names := []string{"status", "requeue"}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"none", []string{"--count", "5"}, []string{"--count", "5"}},
		{"no arguments", nil, nil},
		{"first", []string{"status", "--run-id", "r"}, []string{"status", "--run-id", "r"}},
		{"after flags", []string{"--redis", "X", "status", "--run-id", "Y"}, []string{"status", "--redis", "X", "--run-id", "Y"}},
		{"after flags with =", []string{"--redis=X", "requeue"}, []string{"requeue", "--redis=X"}},
		{"after a bool flag", []string{"--json", "status", "--run-id", "r"}, []string{"status", "--json", "--run-id", "r"}},
		{"a later name is a value", []string{"status", "--run-id", "requeue"}, []string{"status", "--run-id", "requeue"}},
		{"a value spelled with =", []string{"--queue=status", "--count", "1"}, []string{"--queue=status", "--count", "1"}},
		{"not after --", []string{"--count", "1", "--", "status"}, []string{"--count", "1", "--", "status"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, cli.Subcommand(tt.args, names...))
		})
	}
}
