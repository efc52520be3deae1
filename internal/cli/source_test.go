package cli_test

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSource(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		vars map[string]string
		flag string
		want string
	}{
		{"from a flag", []string{"--count", "0"}, nil, "count", "--count 0"},
		{"from a flag with =", []string{"-count=0"}, nil, "count", "--count 0"},
		{"from the environment", nil, map[string]string{"BQ_COUNT": "0"}, "count", "BQ_COUNT=0"},
		{"the flag wins over the environment", []string{"--count", "3"}, map[string]string{"BQ_COUNT": "0"}, "count", "--count 3"},
		{"the default", nil, nil, "count", "--count 10"},
		{"a duration as written", []string{"--timeout", "90s"}, nil, "timeout", "--timeout 90s"},
		{"a default duration", nil, nil, "timeout", "--timeout 1m"},
		{"an empty value is quoted", []string{"--redis="}, nil, "redis", `--redis ""`},
		{"a value with a space is quoted", nil, map[string]string{"BQ_REDIS": "a b"}, "redis", `BQ_REDIS="a b"`},
		{"a value with a leading dash is quoted", []string{"--name", "-x"}, nil, "name", `--name "-x"`},
		{"a URL is not quoted", []string{"--redis", "redis://u@h:1/0"}, nil, "redis", "--redis redis://u@h:1/0"},
		{"a flag without a variable", []string{"--name", "run-1"}, nil, "name", "--name run-1"},
		{"a switch given plain", []string{"--verbose"}, nil, "verbose", "--verbose"},
		{"a switch given a value", []string{"--verbose=false"}, nil, "verbose", "--verbose false"},
		{"a switch from the environment", nil, map[string]string{"BQ_VERBOSE": "true"}, "verbose", "BQ_VERBOSE=true"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, p, err := parse(t, tt.args, tt.vars)
			require.NoError(t, err)
			require.Equal(t, tt.want, p.Source(tt.flag))
		})
	}
}

func TestSourceUnknownFlagPanics(t *testing.T) {
	t.Parallel()
	_, p, err := parse(t, nil, nil)
	require.NoError(t, err)
	require.Panics(t, func() { p.Source("nope") })
	require.Panics(t, func() { p.Given("nope") })
}

// TestOrigin checks that Origin names where a value came from without the
// value, for URLs that may hold a password.
func TestOrigin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		vars map[string]string
		want string
	}{
		{"from a flag", []string{"--redis", "redis://:pw@h:1/0"}, nil, "--redis"},
		{"from the environment", nil, map[string]string{"BQ_REDIS": "redis://:pw@h:1/0"}, "BQ_REDIS"},
		{"the flag wins over the environment", []string{"--redis", "redis://h:1/0"}, map[string]string{"BQ_REDIS": "redis://h:2/0"}, "--redis"},
		{"the default", nil, nil, "--redis"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, p, err := parse(t, tt.args, tt.vars)
			require.NoError(t, err)
			require.Equal(t, tt.want, p.Origin("redis"))
		})
	}
	_, p, err := parse(t, nil, nil)
	require.NoError(t, err)
	require.Panics(t, func() { p.Origin("nope") })
}

// TestGiven checks that Given tells a flag given, by flag or by variable,
// from one left to its default, even when given its default's value.
func TestGiven(t *testing.T) {
	t.Parallel()
	_, p, err := parse(t, []string{"--count", "10"}, map[string]string{"BQ_TIMEOUT": "1m"})
	require.NoError(t, err)
	require.True(t, p.Given("count"))
	require.True(t, p.Given("timeout"))
	require.False(t, p.Given("redis"))
	require.False(t, p.Given("verbose"))
	require.Empty(t, p.Command)
}
