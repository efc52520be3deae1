package cli_test

import (
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/cli"
)

// integers is a command with one integer flag of each kind, each with a
// variable.
type integers struct {
	I   int    `name:"int" var:"BQ_INT" default:"1" help:"an int, 1..100"`
	I64 int64  `name:"int64" var:"BQ_INT64" default:"1" help:"an int64"`
	U   uint   `name:"uint" var:"BQ_UINT" default:"1" help:"a uint"`
	U64 uint64 `name:"count" var:"BQ_COUNT" default:"1" help:"a uint64, 1..10000000000"`
	Max uint64 `name:"max" var:"BQ_MAX" default:"1" help:"integers below max, max in 1..2^63"`
}

// parseIntegers parses args and vars into a new integers.
func parseIntegers(args []string, vars map[string]string) (integers, error) {
	var c integers
	_, err := cli.Parse(cli.Command{Name: "ints"}, &c, args, getenv(vars), io.Discard)
	return c, err
}

// refusal is a command line and environment that parseIntegers refuses,
// and the message it refuses them with.
type refusal struct {
	name string
	args []string
	vars map[string]string
	want string
}

// requireRefused checks that parseIntegers refuses the command line of
// each case as a usage error, its message the case's want.
func requireRefused(t *testing.T, cases []refusal) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := parseIntegers(tt.args, tt.vars)
			require.Error(t, err)
			require.Equal(t, cli.ExitUsage, cli.ExitCode(err))
			require.Equal(t, tt.want, err.Error())
		})
	}
}

// TestIntegerFlagsAreDecimal checks that every kind of integer flag reads
// decimal digits, leading zeros included, from the command line and from
// its variable alike.
func TestIntegerFlagsAreDecimal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		vars map[string]string
		want integers
	}{
		{"plain", []string{"-int", "10", "-int64", "10", "-uint", "10", "-count", "10"}, nil, integers{10, 10, 10, 10, 1}},
		{"leading zeros are decimal", []string{"-int", "010", "-int64", "010", "-uint", "010", "-count", "010"}, nil, integers{10, 10, 10, 10, 1}},
		{"leading zeros from variables", nil, map[string]string{"BQ_INT": "010", "BQ_INT64": "0008", "BQ_UINT": "09", "BQ_COUNT": "007"}, integers{10, 8, 9, 7, 1}},
		{"zero", []string{"-int64", "000", "-uint", "0"}, nil, integers{1, 0, 0, 1, 1}},
		{"negative signed values", []string{"-int64", "-05"}, nil, integers{1, -5, 1, 1, 1}},
		{"range ends", []string{"-int", "0100", "-count", "10000000000", "-max", "9223372036854775808"}, nil, integers{100, 1, 1, 10000000000, 1 << 63}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseIntegers(tt.args, tt.vars)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

// TestIntegerFlagsRefuseOutOfRange checks that a value given outside the
// range its flag's help writes as lo..hi is refused, named as given, with
// the range; a flag whose help gives none takes any value of its type.
func TestIntegerFlagsRefuseOutOfRange(t *testing.T) {
	t.Parallel()
	requireRefused(t, []refusal{
		{"zero", []string{"-int", "0"}, nil, "--int 0 out of range [1, 100]"},
		{"negative", []string{"-int", "-010"}, nil, `--int "-010" out of range [1, 100]`},
		{"above", nil, map[string]string{"BQ_COUNT": "10000000001"}, "BQ_COUNT=10000000001 out of range [1, 10000000000]"},
		{"largest uint64", []string{"-count", "018446744073709551615"}, nil, "--count 018446744073709551615 out of range [1, 10000000000]"},
		{"above a power of two", []string{"-max", "9223372036854775809"}, nil, "--max 9223372036854775809 out of range [1, 2^63]"},
	})
}

// TestIntegerFlagsRefuseOtherBases checks that what the flag package reads
// in another base, or with a sign or separators, is refused with the usual
// message naming the value and where it came from.
func TestIntegerFlagsRefuseOtherBases(t *testing.T) {
	t.Parallel()
	requireRefused(t, []refusal{
		{"hex", []string{"-count", "0x10"}, nil, "--count 0x10: want a whole number from 1 to 10000000000"},
		{"binary", []string{"-count", "0b11"}, nil, "--count 0b11: want a whole number from 1 to 10000000000"},
		{"octal prefix", []string{"-int", "0o7"}, nil, "--int 0o7: want a whole number from 1 to 100"},
		{"underscores", []string{"-int64", "1_000"}, nil, "--int64 1_000: want a whole number"},
		{"plus sign", []string{"-uint", "+5"}, nil, "--uint +5: want a whole number, 0 or more"},
		{"plus sign on a signed flag", []string{"-int", "+5"}, nil, "--int +5: want a whole number from 1 to 100"},
		{"minus sign on an unsigned flag", []string{"-count", "-0"}, nil, `--count "-0": want a whole number from 1 to 10000000000`},
		{"a lone minus", []string{"-int", "-"}, nil, `--int "-": want a whole number from 1 to 100`},
		{"empty", []string{"-int="}, nil, `--int "": want a whole number from 1 to 100`},
		{"spaces", []string{"-int", " 5"}, nil, `--int " 5": want a whole number from 1 to 100`},
		{"above the type", []string{"-count", "18446744073709551616"}, nil, "--count 18446744073709551616: want a whole number from 1 to 10000000000"},
		{"range up to a power of two", []string{"-max", "0x10"}, nil, "--max 0x10: want a whole number from 1 to 2^63"},
		{"hex variable", nil, map[string]string{"BQ_COUNT": "0x10"}, "BQ_COUNT=0x10 (for --count): want a whole number from 1 to 10000000000"},
		{"binary variable", nil, map[string]string{"BQ_INT": "0b11"}, "BQ_INT=0b11 (for --int): want a whole number from 1 to 100"},
		{"underscore variable", nil, map[string]string{"BQ_UINT": "1_000"}, "BQ_UINT=1_000 (for --uint): want a whole number, 0 or more"},
	})
}

func TestAtoi(t *testing.T) {
	t.Parallel()
	good := map[string]int{"0": 0, "7": 7, "010": 10, "-3": -3, "-007": -7, "100000": 100000}
	for s, want := range good {
		got, err := cli.Atoi(s)
		require.NoError(t, err, s)
		require.Equal(t, want, got, s)
	}
	for _, s := range []string{"", "-", "+5", "0x10", "0b11", "0o7", "1_000", "1e3", " 5", "5 ", "99999999999999999999"} {
		_, err := cli.Atoi(s)
		require.Error(t, err, "%q", s)
	}
}
