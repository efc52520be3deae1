package cli

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/kong"

	"bitqueue/internal/base"
	"bitqueue/internal/redisconn"
)

// ErrHelp is what Parse returns for -h or --help, once it has printed the
// help: the command exits 0.
var ErrHelp = errors.New("help requested")

// Command names a command for Parse, and the environment variables of its
// flags.
type Command struct {
	// Name is the command as its help and its errors show it: "worker".
	Name string
	// Prefix starts the environment variable of every flag without a var
	// tag: Prefix and the flag's name in upper case with dashes as
	// underscores (VarName).
	Prefix string
	// Vars are the values of ${name} in the grammar's tags, such as a
	// default that is a Go constant: {"ttl": base.DefaultTTL.String()}.
	// Parse adds those of the shared flags (redis_url, prefix) and of
	// bitqueue's limits (queue, max_batch, max_shards, max_run_id, ttl).
	Vars map[string]string
}

// Parse parses args, then the environment (through getenv), into grammar: a
// pointer to a struct whose fields are the command's flags, tagged for kong
// (github.com/alecthomas/kong: name, help, default, placeholder, group,
// embed, cmd, hidden), and its subcommands, as fields tagged cmd. A flag
// absent from args takes its value from its environment variable when that
// is set and not empty: the var tag names it (var:"-" for none), else it is
// cmd.Prefix and the flag's name (VarName); Aliases are read too. Parse adds
// --version (which makes it return ErrVersion), and -h and --help (which make
// it print the help on stdout and return ErrHelp).
//
// Before kong reads args, Parse takes what Go's flag package took and kong
// does not: a long flag with one dash (-count 5 is --count 5), and the flags
// of a subcommand before it (producer --run-id R status is producer status
// --run-id R). The subcommand is the first argument that is not a flag or a
// flag's value, so that a value spelled like a subcommand is read as a
// value.
//
// Integer flags take decimal digits only, from the command line and the
// environment alike: `010` is ten, and `0x10`, `0b11`, `1_000` and `+5` are
// refused (see decimalDigits).
//
// Every error is a UsageError that names the value as the user gave it:
// `--count "-5": want a whole number from 1 to 1000` for a flag,
// `BITQUEUE_SHARDS=x (for --shards): want a whole number` for a variable,
// `unknown flag --shard (see worker -h)`, never kong's own wording. A range
// written in a flag's help as 1..1000 (or 1s..24h for a duration) is the
// range a value given must fall in, and the range its messages name:
// `--shards 0 out of range [1, 256]`. The
// Parsed result tells where each flag's value came from, for the checks a
// command makes on the values.
//
// A grammar that kong refuses is a mistake of the command, reported as a
// plain error (exit 1) that the command's tests find.
func Parse(cmd Command, grammar any, args []string, getenv func(string) string, stdout io.Writer) (*Parsed, error) {
	p := &parser{cmd: cmd, getenv: getenv, set: map[*kong.Value]setting{}}
	k, err := p.kong(grammar)
	if err != nil {
		return nil, err
	}
	args, err = p.normalize(k.Model, args)
	if err != nil {
		return nil, err
	}
	// The steps of kong.Parse, taken one by one: -h and --version are
	// answered before the environment is read (a bad variable does not
	// hide the help), and the decoders know whether a value comes from the
	// command line, a default or a variable.
	ctx, err := kong.Trace(k, args)
	if err != nil {
		return nil, &UsageError{Err: err}
	}
	switch {
	case given(ctx, k.Model.HelpFlag):
		printHelp(stdout, p, k.Model, selected(ctx))
		return nil, ErrHelp
	case given(ctx, flagNamed(k.Model.Flags, "version")):
		return nil, ErrVersion
	case ctx.Error != nil:
		return nil, p.usage(ctx.Error)
	}
	p.phase = phaseReset
	if err := ctx.Reset(); err != nil {
		return nil, p.usage(err)
	}
	p.phase = phaseResolve
	if err := ctx.Resolve(); err != nil {
		return nil, p.usage(err)
	}
	p.phase = phaseApply
	if _, err := ctx.Apply(); err != nil {
		return nil, p.usage(err)
	}
	if err := ctx.Validate(); err != nil {
		return nil, p.usage(err)
	}
	parsed := &Parsed{flags: map[string]*kong.Flag{}, set: p.set}
	if n := selected(ctx); n != nil {
		parsed.Command = n.Name
	}
	var flags []*kong.Flag
	for _, path := range ctx.Path {
		for _, f := range path.Flags {
			parsed.flags[f.Name] = f
			flags = append(flags, f)
		}
	}
	for _, f := range flags {
		if err := parsed.checkRange(f); err != nil {
			return nil, err
		}
	}
	return parsed, nil
}

// Parsed is what Parse read besides the values it set: the subcommand, and
// where each flag's value came from.
type Parsed struct {
	// Command is the subcommand given ("status", "probe"), or "" for the
	// command itself.
	Command string

	flags map[string]*kong.Flag // the flags of the command parsed, by name
	set   map[*kong.Value]setting
}

// setting is how a flag was given: its text, and the environment variable
// it came from ("" for the command line).
type setting struct{ variable, raw string }

// Source returns the value of the flag name as the user gave it, for
// messages about it: `--shards 0` when it came from the command line,
// `BITQUEUE_SHARDS=0` when it came from the environment, `--shards 1` (the
// default) otherwise; a switch given as plain --wait is `--wait`. Values
// that could be misread are quoted. A name the command does not have is a
// mistake of the command: Source panics.
func (p *Parsed) Source(name string) string {
	f := p.flag(name)
	s, ok := p.set[f.Value]
	switch {
	case ok && s.variable != "":
		return s.variable + "=" + quote(s.raw)
	case ok && s.raw == "" && f.IsBool():
		return "--" + name
	case ok:
		return "--" + name + " " + quote(s.raw)
	default:
		return "--" + name + " " + quote(f.Default)
	}
}

// Origin returns where the flag name took its value, without the value:
// the environment variable it came from (BITQUEUE_REDIS_URL), else the flag
// (--redis). It is for messages about a value that must not be quoted as
// given, such as a URL with a password.
func (p *Parsed) Origin(name string) string {
	if s, ok := p.set[p.flag(name).Value]; ok && s.variable != "" {
		return s.variable
	}
	return "--" + name
}

// Given reports whether the flag name was set, on the command line or by
// its environment variable.
func (p *Parsed) Given(name string) bool {
	_, ok := p.set[p.flag(name).Value]
	return ok
}

// FirstGiven returns the first of names that was given, flag or variable,
// or the first of names when none was: the flag to name in a message about
// several.
func (p *Parsed) FirstGiven(names ...string) string {
	for _, n := range names {
		if p.Given(n) {
			return n
		}
	}
	return names[0]
}

func (p *Parsed) flag(name string) *kong.Flag {
	f, ok := p.flags[name]
	if !ok {
		panic("cli: the command parsed has no flag --" + name)
	}
	return f
}

// phase is the step of Parse under way, which tells a value's decoder
// where the text it decodes came from.
type phase int

const (
	phaseTrace   phase = iota // the command line
	phaseReset                // the grammar's defaults
	phaseResolve              // environment variables
	phaseApply
)

// parser is the state of one Parse.
type parser struct {
	cmd    Command
	getenv func(string) string
	phase  phase
	help   *kong.Flag
	set    map[*kong.Value]setting // the flags given, by flag or variable
}

// sharedVars are the ${name} values every command's tags may use.
var sharedVars = map[string]string{
	"redis_url":  redisconn.DefaultURL,
	"prefix":     base.DefaultPrefix,
	"queue":      base.DefaultQueue,
	"max_batch":  strconv.Itoa(base.MaxBatch),
	"max_shards": strconv.Itoa(base.MaxShards),
	"max_run_id": strconv.Itoa(base.MaxRunID),
	"ttl":        base.DefaultTTL.String(),
}

// kong returns the kong parser of grammar, with the decoders and the
// resolver of p.
func (p *parser) kong(grammar any) (*kong.Kong, error) {
	vars := kong.Vars{}
	maps.Copy(vars, sharedVars)
	maps.Copy(vars, p.cmd.Vars)
	opts := []kong.Option{
		kong.Name(p.cmd.Name),
		kong.Vars(vars),
		kong.Embed(&versionFlag{}),
		kong.Writers(io.Discard, io.Discard),
		kong.Resolvers(resolver{p}),
	}
	for _, t := range []reflect.Type{
		reflect.TypeFor[string](), reflect.TypeFor[bool](),
		reflect.TypeFor[int](), reflect.TypeFor[int64](), reflect.TypeFor[uint](), reflect.TypeFor[uint64](),
		reflect.TypeFor[time.Duration](),
	} {
		opts = append(opts, kong.TypeMapper(t, decoder{p: p, isBool: t.Kind() == reflect.Bool}))
	}
	k, err := kong.New(grammar, opts...)
	if err != nil {
		return nil, fmt.Errorf("cli: %s: %w", p.cmd.Name, err)
	}
	p.help = k.Model.HelpFlag
	return k, nil
}

// versionFlag is the --version every command has.
type versionFlag struct {
	Version bool `name:"version" var:"-" help:"print the version and exit"`
}

// variables returns the environment variables of f, the BITQUEUE_ name
// first: none for -h and --version.
func (p *parser) variables(f *kong.Flag) []string {
	v := f.Tag.Get("var")
	switch {
	case f == p.help || v == "-":
		return nil
	case v == "":
		v = VarName(p.cmd.Prefix, f.Name)
	}
	return names(v)
}

// resolver gives a flag not on the command line the value of its
// environment variable, and records which variable that was.
type resolver struct{ p *parser }

func (resolver) Validate(*kong.Application) error { return nil }

func (r resolver) Resolve(_ *kong.Context, _ *kong.Path, f *kong.Flag) (any, error) {
	for _, name := range r.p.variables(f) {
		if v := r.p.getenv(name); v != "" {
			r.p.set[f.Value] = setting{variable: name, raw: v}
			return v, nil
		}
	}
	return nil, nil
}

// usage returns err, an error of kong's while parsing, as a UsageError: the
// message of a refused value when it is one, kong's own otherwise. A
// default of the grammar that does not parse is the command's mistake, a
// plain error.
func (p *parser) usage(err error) error {
	var bad *badValue
	switch {
	case errors.As(err, &bad) && bad.ofDefault:
		return fmt.Errorf("cli: %s: %w", p.cmd.Name, bad)
	case errors.As(err, &bad):
		return &UsageError{Err: bad}
	}
	return &UsageError{Err: err}
}

// given reports whether the switch f was given on the command line.
func given(ctx *kong.Context, f *kong.Flag) bool {
	for _, path := range ctx.Path {
		if f != nil && path.Flag == f {
			v := ctx.Value(path)
			return v.IsValid() && v.Kind() == reflect.Bool && v.Bool()
		}
	}
	return false
}

// selected returns the subcommand of ctx, or nil for the command itself
// (also when that is a hidden default subcommand, which holds the flags
// that only the command itself takes).
func selected(ctx *kong.Context) *kong.Node {
	n := ctx.Selected()
	if n == nil || n.Hidden {
		return nil
	}
	return n
}

// flagNamed returns the flag of flags named name, or nil.
func flagNamed(flags []*kong.Flag, name string) *kong.Flag {
	for _, f := range flags {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// quote returns v as is when it reads unambiguously in a message, and
// Go-quoted when it is empty, starts with a dash or holds anything but
// letters, digits and the punctuation of URLs, paths and durations.
func quote(v string) string {
	if v == "" || strings.HasPrefix(v, "-") {
		return fmt.Sprintf("%q", v)
	}
	for _, r := range v {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._:/@,+=%^~-", r)) {
			return fmt.Sprintf("%q", v)
		}
	}
	return v
}
