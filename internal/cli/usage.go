package cli

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// PrintUsage writes fs's flags, each with its environment variable, to w,
// after the synopsis. A FlagSet's PrintUsage also groups them and ends with
// examples.
func PrintUsage(w io.Writer, fs *flag.FlagSet, synopsis string, env map[string]string) {
	writeSynopsis(w, []string{synopsis})
	io.WriteString(w, "\nFlags:\n")
	fs.VisitAll(func(f *flag.Flag) { writeFlag(w, f, env) })
}

func writeSynopsis(w io.Writer, forms []string) {
	for i, s := range forms {
		if i == 0 {
			writef(w, "Usage: %s\n", s)
		} else {
			writef(w, "       %s\n", s)
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
