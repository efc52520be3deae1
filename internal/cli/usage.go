package cli

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// Help is what a command's -h shows besides its flags.
type Help struct {
	// Synopsis holds the forms of the command line, one per line.
	Synopsis []string
	// Commands lists the subcommands.
	Commands []Command
	// Groups puts the flags under titles, in this order; flags of no group
	// come first, under "Flags".
	Groups []Group
	// Examples end the help, one command line (or # comment) each.
	Examples []string
}

// Command is a subcommand and a one-line summary of it.
type Command struct{ Name, Summary string }

// Group is a title of the help and the names of the flags under it.
type Group struct {
	Title string
	Flags []string
}

// PrintUsage writes fs's flags, each with its default and environment
// variables, to w, after the synopsis.
func PrintUsage(w io.Writer, fs *flag.FlagSet, synopsis string, env map[string]string) {
	PrintHelp(w, fs, Help{Synopsis: []string{synopsis}}, env)
}

// PrintHelp writes the help of fs to w: the synopsis, the subcommands, the
// flags by group, each with its default and environment variables
// (env[flag name] and its Aliases), --version and -h, then the examples. A
// group naming a flag fs does not have is a mistake of the command: PrintHelp
// panics, so that a test of -h finds it.
func PrintHelp(w io.Writer, fs *flag.FlagSet, h Help, env map[string]string) {
	for i, s := range h.Synopsis {
		if i == 0 {
			writef(w, "Usage: %s\n", s)
		} else {
			writef(w, "       %s\n", s)
		}
	}
	if len(h.Commands) > 0 {
		io.WriteString(w, "\nCommands:\n")
		for _, c := range h.Commands {
			writef(w, "  %-10s %s\n", c.Name, c.Summary)
		}
	}
	grouped := map[string]bool{"version": true}
	for _, g := range h.Groups {
		for _, name := range g.Flags {
			if fs.Lookup(name) == nil {
				panic(fmt.Sprintf("cli: help group %q names --%s, which %s does not have", g.Title, name, fs.Name()))
			}
			grouped[name] = true
		}
	}
	var rest []string
	fs.VisitAll(func(f *flag.Flag) {
		if !grouped[f.Name] {
			rest = append(rest, f.Name)
		}
	})
	groups := h.Groups
	if len(rest) > 0 {
		groups = append([]Group{{Title: "Flags", Flags: rest}}, groups...)
	}
	for _, g := range groups {
		if len(g.Flags) == 0 {
			continue
		}
		writef(w, "\n%s:\n", g.Title)
		for _, name := range g.Flags {
			writeFlag(w, fs.Lookup(name), env)
		}
	}
	io.WriteString(w, "\nOther:\n  --version\n    \tprint the version and exit\n  -h, --help\n    \tprint this help\n")
	if len(h.Examples) > 0 {
		io.WriteString(w, "\nExamples:\n")
		for _, e := range h.Examples {
			writef(w, "  %s\n", e)
		}
	}
}

// writeFlag writes one flag: its name and kind of value, then its usage,
// default and environment variables.
func writeFlag(w io.Writer, f *flag.Flag, env map[string]string) {
	plain := *f
	if s, ok := f.Value.(*sourced); ok {
		plain.Value = s.Value // UnquoteUsage names the kind from the value's type
	}
	if d, ok := plain.Value.(*decimal); ok {
		plain.Value = d.Value
	}
	name, usage := flag.UnquoteUsage(&plain)
	writef(w, "  %s\n    \t%s", strings.TrimSpace("--"+f.Name+" "+name), usage)
	if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "0s" {
		writef(w, " (default %s)", f.DefValue)
	}
	if v, ok := env[f.Name]; ok {
		vars := names(v)
		for i := range vars {
			vars[i] = "$" + vars[i]
		}
		writef(w, " [%s]", strings.Join(vars, ", "))
	}
	io.WriteString(w, "\n")
}

func writef(w io.Writer, format string, args ...any) { fmt.Fprintf(w, format, args...) }
