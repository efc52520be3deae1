package cli_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/cli"
)

func TestCheckQueue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		queue string
		want  string // part of the error; "" when servable
	}{
		{"default", "bits", ""},
		{"punctuation", "team.a_b-c:d/e@f", ""},
		{"like a shard", "bits-0", ""},
		{"unicode letters", "файлы", ""},
		{"empty", "", "must be non-empty without spaces"},
		{"space inside", "a b", "must be non-empty without spaces"},
		{"leading space", " a", "must be non-empty without spaces"},
		{"tab", "a\tb", "must be non-empty without spaces"},
		{"newline", "a\n", "must be non-empty without spaces"},
		{"no-break space", "a\u00a0b", "must be non-empty without spaces"},
		{"comma", "a,b", "must not hold a comma"},
		{"lone comma", ",", "must not hold a comma"},
		{"control character", "a\x07b", "non-printing character U+0007"},
		{"zero-width space", "a\u200bb", "non-printing character U+200B"},
		{"open brace", "a{b", "must not hold { or }"},
		{"close brace", "a}b", "must not hold { or }"},
		{"invalid UTF-8", "a\xffb", "must be valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := cli.CheckQueue(tt.queue)
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.want)
		})
	}
}

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
