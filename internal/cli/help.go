package cli

import (
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"

	"github.com/alecthomas/kong"
)

// Usage is what a command's -h shows besides its flags and subcommands. A
// grammar struct, or the struct of a subcommand, gives its own with a method
// Usage() Usage; a hidden default subcommand shows the command's.
type Usage struct {
	// Synopsis holds the forms of the command line, one per line (default:
	// "NAME [flags]").
	Synopsis []string
	// Examples end the help, one command line (or # comment) each.
	Examples []string
}

// usager is a grammar struct that gives its Usage.
type usager interface{ Usage() Usage }

// FlagDoc is one flag as -h shows it.
type FlagDoc struct {
	Name  string
	Group string // the title it is shown under
	// Kind is what its value is (int, uint, duration, string, or the
	// placeholder its tag gives); "" for a switch.
	Kind      string
	Help      string
	Default   string   // "" when -h shows none (an empty, false or zero default)
	Variables []string // its environment variables, the BITQUEUE_ name first
}

// Flags returns the flags of the command, or of its subcommand sub, in the
// order -h shows them, --version and -h aside: for tests that hold -h to
// every flag.
func Flags(cmd Command, grammar any, sub string) ([]FlagDoc, error) {
	p := &parser{cmd: cmd}
	k, err := p.kong(grammar)
	if err != nil {
		return nil, err
	}
	var node *kong.Node
	if sub != "" {
		if node = child(k.Model.Node, sub); node == nil {
			return nil, fmt.Errorf("cli: %s has no subcommand %s", cmd.Name, sub)
		}
	}
	return p.flagDocs(k.Model, node), nil
}

// flagDocs returns the flags -h of node (nil for the command itself) shows:
// the node's own, then the command's, --version and -h aside.
func (p *parser) flagDocs(app *kong.Application, node *kong.Node) []FlagDoc {
	own := app.DefaultCmd
	if node != nil {
		own = node
	}
	var flags []*kong.Flag
	if own != nil {
		flags = append(flags, own.Flags...)
	}
	flags = append(flags, app.Flags...)
	var docs []FlagDoc
	for _, f := range flags {
		if f == p.help || f.Name == "version" || f.Hidden {
			continue
		}
		d := FlagDoc{Name: f.Name, Group: "Flags", Kind: kind(f), Help: f.Help, Variables: p.variables(f)}
		if f.Group != nil {
			d.Group = f.Group.Title
		}
		if f.HasDefault && f.Default != "" && f.Default != "false" && f.Default != "0" && f.Default != "0s" {
			d.Default = f.Default
		}
		docs = append(docs, d)
	}
	return docs
}

// kind names what a flag's value is, as Go's flag package did: its
// placeholder, else its type; "" for a switch.
func kind(f *kong.Flag) string {
	if f.IsBool() {
		return ""
	}
	if f.PlaceHolder != "" {
		return f.PlaceHolder
	}
	t := f.Target.Type()
	switch {
	case t == reflect.TypeFor[time.Duration]():
		return "duration"
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int64:
		return "int"
	case t.Kind() == reflect.Uint || t.Kind() == reflect.Uint64:
		return "uint"
	case t.Kind() == reflect.String:
		return "string"
	}
	return "value"
}

// printHelp writes the help of node (nil for the command itself) to w: the
// synopsis, the subcommands (of the command itself), the flags by group,
// each with its default and variables, --version and -h, then the examples.
// Groups come in the order of their first flag, flags of no group first.
func printHelp(w io.Writer, p *parser, app *kong.Application, node *kong.Node) {
	name, u := p.cmd.Name, usageOf(app.Node)
	if node != nil {
		name += " " + node.Name
		u = usageOf(node)
	}
	if len(u.Synopsis) == 0 {
		u.Synopsis = []string{name + " [flags]"}
	}
	for i, s := range u.Synopsis {
		if i == 0 {
			fmt.Fprintf(w, "Usage: %s\n", s)
		} else {
			fmt.Fprintf(w, "       %s\n", s)
		}
	}
	if node == nil && len(commandNames(app.Node)) > 0 {
		io.WriteString(w, "\nCommands:\n")
		for _, c := range app.Children {
			if c.Type == kong.CommandNode && !c.Hidden {
				fmt.Fprintf(w, "  %-10s %s\n", c.Name, c.Help)
			}
		}
	}
	docs := p.flagDocs(app, node)
	groups := []string{"Flags"}
	byGroup := map[string][]FlagDoc{}
	for _, d := range docs {
		if _, ok := byGroup[d.Group]; !ok && d.Group != "Flags" {
			groups = append(groups, d.Group)
		}
		byGroup[d.Group] = append(byGroup[d.Group], d)
	}
	for _, g := range groups {
		if len(byGroup[g]) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s:\n", g)
		for _, d := range byGroup[g] {
			writeFlag(w, d)
		}
	}
	io.WriteString(w, "\nOther:\n  --version\n    \tprint the version and exit\n  -h, --help\n    \tprint this help\n")
	if len(u.Examples) > 0 {
		io.WriteString(w, "\nExamples:\n")
		for _, e := range u.Examples {
			fmt.Fprintf(w, "  %s\n", e)
		}
	}
}

// usageOf returns the Usage n's struct gives, if any.
func usageOf(n *kong.Node) Usage {
	if n.Target.IsValid() && n.Target.CanAddr() {
		if u, ok := n.Target.Addr().Interface().(usager); ok {
			return u.Usage()
		}
	}
	return Usage{}
}

// writeFlag writes one flag: its name and kind of value, then its help,
// default and environment variables.
func writeFlag(w io.Writer, d FlagDoc) {
	fmt.Fprintf(w, "  %s\n    \t%s", strings.TrimSpace("--"+d.Name+" "+d.Kind), d.Help)
	if d.Default != "" {
		fmt.Fprintf(w, " (default %s)", d.Default)
	}
	if len(d.Variables) > 0 {
		vars := make([]string, len(d.Variables))
		for i, v := range d.Variables {
			vars[i] = "$" + v
		}
		fmt.Fprintf(w, " [%s]", strings.Join(vars, ", "))
	}
	io.WriteString(w, "\n")
}
