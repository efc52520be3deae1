package input

import (
	"strconv"
	"strings"
)

// FromIdentity returns the Source whose Identity is identity, when identity
// names random input ("random seed=S max=M count=N", exactly as a random
// Source writes it): the same integers, drawn again from their seed. It
// reports false for any other identity, such as the "sha256:<hex>" of a file
// or stdin, whose integers only the bytes themselves hold.
func FromIdentity(identity string) (Source, bool) {
	rest, ok := strings.CutPrefix(identity, "random ")
	if !ok {
		return nil, false
	}
	var v [3]uint64
	for i, name := range []string{"seed=", "max=", "count="} {
		field, tail, _ := strings.Cut(rest, " ")
		digits, ok := strings.CutPrefix(field, name)
		if !ok {
			return nil, false
		}
		n, err := strconv.ParseUint(digits, 10, 64)
		if err != nil {
			return nil, false
		}
		v[i], rest = n, tail
	}
	src := Random(v[0], v[2], v[1])
	// Only the canonical spelling is accepted: "seed=01", "max=0" (drawn as
	// max=1) or a trailing field would name a run that never existed.
	if got, _ := src.Identity(); got != identity {
		return nil, false
	}
	return src, true
}
