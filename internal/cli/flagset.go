package cli

import (
	"flag"
	"io"
)

// FlagSet is a command's flags, each declared once: its environment variable
// follows from its name (Prefix + NAME, see VarName) unless Env says
// otherwise, and its group in the help is the one last opened with Group.
//
//	fs := cli.NewFlagSet("worker", "BITQUEUE_")
//	fs.Group("Redis")
//	fs.StringVar(&c.redisURL, "redis", redisconn.DefaultURL, "Redis URL")
//	fs.Env("redis", "BITQUEUE_REDIS_URL")
//	fs.Group("Logging")
//	fs.StringVar(&c.logFormat, "log-format", "text", "text or json")
//
// Flags are defined on the embedded flag.FlagSet as usual.
type FlagSet struct {
	*flag.FlagSet
	// Synopsis is the first line of the help, after "Usage: "; further
	// forms go on lines of their own.
	Synopsis []string
	// Examples end the help, one command line (or # comment) each.
	Examples []string

	prefix   string
	vars     map[string]string // flag name → variable, where Env was called
	groupOf  map[string]string // flag name → group title
	groups   []string          // group titles in the order opened
	current  string
	commands []Command
}

// NewFlagSet returns an empty FlagSet for the command name (as the help
// shows it) whose variables take prefix.
func NewFlagSet(name, prefix string) *FlagSet {
	return &FlagSet{
		FlagSet: flag.NewFlagSet(name, flag.ContinueOnError),
		prefix:  prefix,
		vars:    map[string]string{},
		groupOf: map[string]string{},
	}
}

// Group puts the flags defined from now on under title in the help.
func (f *FlagSet) Group(title string) {
	f.sync()
	f.current = title
	f.groups = append(f.groups, title)
}

// Env sets the environment variable of the flag name, instead of the one its
// name gives; "" means the flag has none.
func (f *FlagSet) Env(name, variable string) { f.vars[name] = variable }

// Command lists a subcommand, with a one-line summary, in the help.
func (f *FlagSet) Command(name, summary string) {
	f.commands = append(f.commands, Command{name, summary})
}

// Vars returns the environment variable of every flag that has one, by flag
// name: the map Parse and PrintUsage take.
func (f *FlagSet) Vars() map[string]string { return VarsOf(f.FlagSet, f.prefix, f.vars) }

// Parse parses args, then the environment, as Parse does with Vars. An
// argument spelled nearly like one of the subcommands listed by Command is
// reported as a misspelling of it (DidYouMean).
func (f *FlagSet) Parse(args []string, getenv func(string) string) error {
	f.sync()
	names := make([]string, len(f.commands))
	for i, c := range f.commands {
		names[i] = c.Name
	}
	return DidYouMean(Parse(f.FlagSet, args, getenv, f.Vars()), names...)
}

// Source returns the value of the flag name as the user gave it; see Source.
func (f *FlagSet) Source(name string) string { return Source(f.FlagSet, name) }

// Origin returns where the flag name took its value; see Origin.
func (f *FlagSet) Origin(name string) string { return Origin(f.FlagSet, name) }

// Given reports whether the flag name was set, on the command line or by
// its environment variable.
func (f *FlagSet) Given(name string) bool {
	given := false
	f.Visit(func(fl *flag.Flag) { given = given || fl.Name == name })
	return given
}

// PrintUsage writes the help to w: the synopsis, the subcommands, the flags
// by group, each with its default and variables, then the examples.
func (f *FlagSet) PrintUsage(w io.Writer) {
	f.sync()
	h := Help{Synopsis: f.Synopsis, Commands: f.commands, Examples: f.Examples}
	byGroup := map[string][]string{}
	f.VisitAll(func(fl *flag.Flag) {
		if fl.Name != "version" { // PrintHelp shows it last, with -h
			byGroup[f.groupOf[fl.Name]] = append(byGroup[f.groupOf[fl.Name]], fl.Name)
		}
	})
	for _, g := range f.groups {
		h.Groups = append(h.Groups, Group{Title: g, Flags: byGroup[g]})
	}
	PrintHelp(w, f.FlagSet, h, f.Vars())
}

// sync puts the flags defined since the last Group into the current group.
func (f *FlagSet) sync() {
	f.VisitAll(func(fl *flag.Flag) {
		if _, ok := f.groupOf[fl.Name]; !ok {
			f.groupOf[fl.Name] = f.current
		}
	})
}

// VarsOf returns the environment variable of every flag of fs, by flag name:
// the one except names, or else VarName(prefix, name); an exception of ""
// means the flag has none. --version and --help have none. It lets a command
// declare flags on a plain flag.FlagSet without writing their variables out.
func VarsOf(fs *flag.FlagSet, prefix string, except map[string]string) map[string]string {
	env := map[string]string{}
	fs.VisitAll(func(fl *flag.Flag) {
		if fl.Name == "version" || fl.Name == "help" || fl.Name == "h" {
			return
		}
		v, ok := except[fl.Name]
		if !ok {
			v = VarName(prefix, fl.Name)
		}
		if v != "" {
			env[fl.Name] = v
		}
	})
	return env
}
