package base

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestKeys(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, got, want string
	}{
		{"result", ResultKey("bq", "r-1", 7), "bq:result:r-1:7"},
		{"result of the largest seq", ResultKey("bq", "r", math.MaxUint64), "bq:result:r:18446744073709551615"},
		{"record", RecordKey("bq", "r-1"), "bq:run:r-1"},
		{"done", DoneKey("bq", "r-1"), "bq:done:r-1"},
		{"runs", RunsKey("bq"), "bq:runs"},
		{"tick", TickKey("bq", "nightly-20261201T0000Z"), "bq:tick:nightly-20261201T0000Z"},
		{"default prefix", ResultKey(DefaultPrefix, "x", 0), "bitqueue:result:x:0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, tc.got)
		})
	}
}

func TestParseResultKey(t *testing.T) {
	t.Parallel()
	run, seq, err := ParseResultKey("bq", ResultKey("bq", "a.b-c", 123))
	require.NoError(t, err)
	require.Equal(t, "a.b-c", run)
	require.Equal(t, uint64(123), seq)
	for _, bad := range []string{"bq:run:x", "other:result:x:1", "bq:result:x", "bq:result::1", "bq:result:x:01", "bq:result:x:-1"} {
		_, _, err := ParseResultKey("bq", bad)
		require.ErrorIs(t, err, ErrNotResultKey, bad)
	}
}

func TestCheckPrefix(t *testing.T) {
	t.Parallel()
	require.NoError(t, CheckPrefix("bitqueue"))
	for _, bad := range []string{"", "a b", "a\tb", "a\n"} {
		require.Error(t, CheckPrefix(bad), "%q", bad)
	}
}
