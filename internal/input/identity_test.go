package input_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"bitqueue/fixture"
	"bitqueue/internal/input"
)

// TestFromIdentity regenerates random input from its identity alone, and
// refuses every identity that does not name random input exactly.
func TestFromIdentity(t *testing.T) {
	t.Parallel()
	orig := input.Random(42, 1000, 1<<20)
	id, err := orig.Identity()
	require.NoError(t, err)
	src, ok := input.FromIdentity(id)
	require.True(t, ok, "identity %q", id)
	require.Equal(t, fixture.Integers(t, orig), fixture.Integers(t, src), "the same integers")

	for _, tc := range []struct{ name, identity string }{
		{"file", "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
		{"empty", ""},
		{"no fields", "random"},
		{"fields out of order", "random max=10 seed=1 count=5"},
		{"missing count", "random seed=1 max=10"},
		{"extra field", "random seed=1 max=10 count=5 x=1"},
		{"max 0", "random seed=1 max=0 count=5"},
		{"leading zero", "random seed=01 max=10 count=5"},
		{"sign", "random seed=+1 max=10 count=5"},
		{"overflow", "random seed=18446744073709551616 max=10 count=5"},
		{"double space", "random seed=1  max=10 count=5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, ok := input.FromIdentity(tc.identity)
			require.False(t, ok)
		})
	}
}

// FuzzFromIdentity checks that an identity FromIdentity accepts is the
// identity of the source it returns.
func FuzzFromIdentity(f *testing.F) {
	f.Add("random seed=1 max=1048576 count=100")
	f.Add("random seed=18446744073709551615 max=9223372036854775808 count=10000000000")
	f.Add("sha256:00")
	f.Add("random seed=1 max=0 count=5")
	f.Fuzz(func(t *testing.T, identity string) {
		src, ok := input.FromIdentity(identity)
		if !ok {
			return
		}
		got, err := src.Identity()
		if err != nil || got != identity {
			t.Fatalf("FromIdentity(%q) gave a source of identity %q (%v)", identity, got, err)
		}
	})
}
