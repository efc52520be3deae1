package cli

import "slices"

// Subcommand returns args with the subcommand moved to the front, so that
// flags may come before or after it: `producer --redis X status --run-id Y`
// becomes `status --redis X --run-id Y`. The subcommand is the first
// argument, before any "--", that is one of names; a flag's value that is
// spelled like a subcommand must be given as --flag=value. Without a
// subcommand, args come back unchanged.
func Subcommand(args []string, names ...string) []string {
	for i, a := range args {
		if a == "--" {
			break
		}
		if !slices.Contains(names, a) {
			continue
		}
		if i > 0 {
			out := make([]string, 0, len(args))
			out = append(out, a)
			out = append(out, args[:i]...)
			return append(out, args[i+1:]...)
		}
		return args
	}
	return args
}
