package cli

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/alecthomas/kong"
)

// normalize returns args in the form kong reads, the form bitqueue's
// commands took from Go's flag package before:
//
//   - a long flag given with one dash is given with two (-count 5 is
//     --count 5), as the flag package allowed and scripts may still write;
//   - the subcommand comes first, so that a subcommand's own flags may come
//     before it (producer --run-id R status is producer status --run-id R;
//     kong takes only the flags the command and its subcommand share there).
//     The subcommand is the first argument that is neither a flag nor a
//     flag's value, so that a value spelled like a subcommand is a value;
//   - every flag's value is joined to it (--count=5), so that kong reads a
//     value that starts with a dash (--timeout -1s) as the flag package did.
//
// It finds the errors kong words in its own way, and words them as bitqueue
// always has: a flag the command does not have (unknown flag --shard (see
// worker -h)), a flag without its value (--queue needs a value), an argument
// (unexpected argument "x", or unknown command "stauts" (did you mean
// status?) when it is spelled nearly like a subcommand). Everything else,
// values first, is kong's to read.
func (p *parser) normalize(app *kong.Application, args []string) ([]string, error) {
	long, err := longFlags(app.Node)
	if err != nil {
		return nil, err
	}

	// Find the subcommand and the first argument that is not one.
	var sub *kong.Node
	at, stray, afterDashes := -1, -1, false
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			if i+1 < len(args) {
				stray, afterDashes = i+1, true
			}
			break
		}
		if isFlag(a) {
			name, _, hasValue, short := splitFlag(a)
			if f := long[name]; f != nil && !short && !hasValue && !f.IsBool() {
				i++ // its value
			}
			continue
		}
		if c := child(app.Node, a); c != nil && sub == nil {
			sub, at = c, i
			continue
		}
		stray = i
		break
	}

	// Check the flags against the command's, and write them as kong reads
	// them.
	node, helpName := app.DefaultCmd, p.cmd.Name
	if sub != nil {
		node, helpName = sub, p.cmd.Name+" "+sub.Name
	}
	var out []string
	if sub != nil {
		out = append(out, sub.Name)
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if i == at {
			continue
		}
		if a == "--" || i == stray {
			break
		}
		name, value, hasValue, short := splitFlag(a)
		f := lookupFlag(app.Node, node, name, short)
		if f == nil {
			return nil, &UsageError{Err: &unknownFlag{name: name, cmd: helpName}}
		}
		switch {
		case short:
			out = append(out, a)
		case hasValue:
			out = append(out, "--"+name+"="+value)
		case f.IsBool():
			out = append(out, "--"+name)
		default:
			if i+1 >= len(args) {
				return nil, Usagef("--%s needs a value", name)
			}
			i++
			out = append(out, "--"+name+"="+args[i])
		}
	}
	if stray >= 0 {
		if sub == nil && !afterDashes {
			if c, ok := closest(args[stray], commandNames(app.Node)); ok {
				return nil, Usagef("unknown command %q (did you mean %s?)", args[stray], c)
			}
		}
		return nil, &UsageError{Err: &argError{arg: args[stray]}}
	}
	return out, nil
}

// isFlag reports whether a is a flag: a dash and more, but not "--".
func isFlag(a string) bool { return len(a) > 1 && a[0] == '-' && a != "--" }

// splitFlag splits the flag a into its name and its value, if given with =;
// short is a single letter after a single dash (-h).
func splitFlag(a string) (name, value string, hasValue, short bool) {
	body, double := strings.CutPrefix(a, "--")
	if !double {
		body = a[1:]
	}
	name, value, hasValue = strings.Cut(body, "=")
	short = !double && utf8.RuneCountInString(name) == 1
	return name, value, hasValue, short
}

// longFlags returns every long flag of the command and its subcommands, by
// name. A name that is a switch in one subcommand and takes a value in
// another is a mistake of the command.
func longFlags(root *kong.Node) (map[string]*kong.Flag, error) {
	long := map[string]*kong.Flag{}
	var walk func(n *kong.Node) error
	walk = func(n *kong.Node) error {
		for _, f := range n.Flags {
			if g, ok := long[f.Name]; ok && g.IsBool() != f.IsBool() {
				return fmt.Errorf("cli: --%s is a switch in one subcommand and takes a value in another", f.Name)
			}
			long[f.Name] = f
		}
		for _, c := range n.Children {
			if err := walk(c); err != nil {
				return err
			}
		}
		return nil
	}
	return long, walk(root)
}

// lookupFlag returns the flag of root or of node (a subcommand, or nil)
// that name (a short flag's letter when short) names, or nil.
func lookupFlag(root, node *kong.Node, name string, short bool) *kong.Flag {
	for _, n := range []*kong.Node{root, node} {
		if n == nil {
			continue
		}
		for _, f := range n.Flags {
			if !short && f.Name == name || short && f.Short != 0 && string(f.Short) == name {
				return f
			}
		}
	}
	return nil
}

// child returns the subcommand of n named name, or nil; a hidden
// subcommand, which holds the flags of the command itself, is not named.
func child(n *kong.Node, name string) *kong.Node {
	for _, c := range n.Children {
		if c.Type == kong.CommandNode && !c.Hidden && c.Name == name {
			return c
		}
	}
	return nil
}

// commandNames returns the names of n's subcommands, hidden ones aside.
func commandNames(n *kong.Node) []string {
	var names []string
	for _, c := range n.Children {
		if c.Type == kong.CommandNode && !c.Hidden {
			names = append(names, c.Name)
		}
	}
	return names
}

// unknownFlag is Parse's error for a flag the command does not have.
type unknownFlag struct{ name, cmd string }

func (e *unknownFlag) Error() string {
	return fmt.Sprintf("unknown flag --%s (see %s -h)", e.name, e.cmd)
}

// argError is Parse's error for an argument that is no flag, when the
// command takes none.
type argError struct{ arg string }

func (e *argError) Error() string { return fmt.Sprintf("unexpected argument %q", e.arg) }
