package base_test

import (
	"bitqueue/internal/base"
	"testing"

	"github.com/stretchr/testify/require"
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
			err := base.CheckQueue(tt.queue)
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.want)
		})
	}
}
