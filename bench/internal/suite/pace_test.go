package suite

import (
	"testing"

	"github.com/stretchr/testify/require"

	"bitqueue/fixture"
	"bitqueue/internal/input"
)

func TestPacedKeepsTheIntegers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name         string
		count, batch int
	}{
		{"whole batches", 30, 10},
		{"a short last batch", 25, 10},
		{"one integer a batch", 5, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := input.Random(7, uint64(tc.count), 1<<20)
			p := paced{Source: src, batch: tc.batch, rate: 1e6}
			require.Equal(t, fixture.Integers(t, src), fixture.Integers(t, p))
			id, err := p.Identity()
			require.NoError(t, err)
			want, _ := src.Identity()
			require.Equal(t, want, id, "the same run fingerprint as the unpaced input")
		})
	}
}
