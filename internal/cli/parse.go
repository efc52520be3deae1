package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Parse parses args into fs. A flag absent from args takes its value from the
// environment variable env[flag name] (or one of its Aliases) when that is
// set and non-empty. --version is added to fs when fs has no such flag, and
// makes Parse return ErrVersion; -h makes it return flag.ErrHelp.
//
// Integer flags take decimal digits only, from the command line and the
// environment alike: `010` is ten, and `0x10`, `0b11`, `1_000` and `+5` are
// refused (see decimal).
//
// Every error is a UsageError that names the value as the user gave it:
// `--count "-5": want a whole number from 1 to 1000` for a flag,
// `BITQUEUE_SHARDS=x (for --shards): want a whole number` for a variable,
// never the flag package's own message. After Parse, Source tells where each
// flag's value came from, for the checks a command makes on the values.
func Parse(fs *flag.FlagSet, args []string, getenv func(string) string, env map[string]string) error {
	fs.SetOutput(io.Discard)
	if fs.Lookup("version") == nil {
		fs.Bool("version", false, "print the version and exit")
	}
	var last failure
	fs.VisitAll(func(f *flag.Flag) {
		if s, ok := f.Value.(*sourced); ok {
			s.fail = &last
			return
		}
		f.Value = &sourced{Value: decimalOf(f.Value), flag: f, fail: &last}
	})
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		if last.src != nil {
			return &UsageError{Err: last.message()}
		}
		return &UsageError{Err: rewordParseError(err, fs.Name())}
	}
	if v, ok := fs.Lookup("version").Value.(flag.Getter); ok && v.Get() == true {
		return ErrVersion
	}
	if fs.NArg() > 0 {
		return &UsageError{Err: &argError{arg: fs.Arg(0)}} // see DidYouMean
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, name := range slices.Sorted(maps.Keys(env)) {
		if set[name] {
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			return Usagef("%s names an environment variable for --%s, which the command does not have", env[name], name)
		}
		variable, v := Lookup(getenv, env[name])
		if v == "" {
			continue
		}
		f.Value.(*sourced).variable = variable
		if err := fs.Set(name, v); err != nil {
			return &UsageError{Err: last.message()}
		}
	}
	return nil
}

// Source returns the value of fs's flag name as the user gave it, for
// messages about it: `--shards 0` when it came from the command line,
// `BITQUEUE_SHARDS=0` when it came from the environment, `--shards 1` (the
// default) otherwise. Values that could be misread are quoted. fs must have
// been parsed by Parse.
func Source(fs *flag.FlagSet, name string) string {
	f := fs.Lookup(name)
	if f == nil {
		panic("cli.Source: no flag --" + name)
	}
	if s, ok := f.Value.(*sourced); ok {
		return s.source()
	}
	return "--" + name + " " + quote(f.Value.String())
}

// Origin returns where fs's flag name took its value, without the value:
// the environment variable it came from (BITQUEUE_REDIS_URL), else the flag
// (--redis). It is for messages about a value that must not be quoted as
// given, such as a URL with a password. fs must have been parsed by Parse.
func Origin(fs *flag.FlagSet, name string) string {
	f := fs.Lookup(name)
	if f == nil {
		panic("cli.Origin: no flag --" + name)
	}
	if s, ok := f.Value.(*sourced); ok && s.variable != "" {
		return s.variable
	}
	return "--" + name
}

// sourced wraps a flag's value to record where it was set from and why a
// value was refused.
type sourced struct {
	flag.Value
	flag     *flag.Flag
	raw      string   // the text last given, as the user wrote it
	given    bool     // set from the command line or the environment
	variable string   // the environment variable it came from, if any
	fail     *failure // where Set records a refused value
}

func (s *sourced) Set(v string) error {
	err := s.Value.Set(v)
	if err != nil {
		*s.fail = failure{src: s, raw: v, err: err}
		return err
	}
	s.raw, s.given = v, true
	return nil
}

// IsBoolFlag keeps `--wait` working without a value for a wrapped bool.
func (s *sourced) IsBoolFlag() bool {
	b, ok := s.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// Get returns the wrapped value's Get, for flag.Getter.
func (s *sourced) Get() any {
	if g, ok := s.Value.(flag.Getter); ok {
		return g.Get()
	}
	return s.Value.String()
}

func (s *sourced) source() string {
	switch {
	case s.variable != "":
		return s.variable + "=" + quote(s.raw)
	case s.given:
		return "--" + s.flag.Name + " " + quote(s.raw)
	default:
		return "--" + s.flag.Name + " " + quote(s.Value.String())
	}
}

// failure is a value a flag refused.
type failure struct {
	src *sourced
	raw string
	err error
}

// message says what was wrong with the refused value, naming it as given.
func (f failure) message() error {
	where := "--" + f.src.flag.Name + " " + quote(f.raw)
	if v := f.src.variable; v != "" {
		where = v + "=" + quote(f.raw) + " (for --" + f.src.flag.Name + ")"
	}
	return fmt.Errorf("%s: %s", where, want(f.src, f.err))
}

// rangeInUsage finds a range such as "1..1000" or "1..2^63" in a flag's
// usage text.
var rangeInUsage = regexp.MustCompile(`(2\^[0-9]+|-?[0-9][0-9_]*)\.\.(2\^[0-9]+|-?[0-9][0-9_]*)`)

// want says what a flag of s's kind accepts, with the range its usage text
// gives, if any.
func want(s *sourced, err error) string {
	span := ""
	if m := rangeInUsage.FindStringSubmatch(s.flag.Usage); m != nil {
		span = " from " + m[1] + " to " + m[2]
	}
	switch s.Get().(type) {
	case int, int64:
		return "want a whole number" + span
	case uint, uint64:
		if span == "" {
			span = ", 0 or more"
		}
		return "want a whole number" + span
	case float64:
		return "want a number" + span
	case bool:
		return "want true or false"
	case time.Duration:
		return "want a duration such as 500ms, 30s, 5m or 1h30m"
	default:
		return err.Error()
	}
}

// rewordParseError rewrites the flag package's own messages, which name flags
// with one dash, into the words of the command cmd.
func rewordParseError(err error, cmd string) error {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
		return &unknownFlag{name: strings.TrimLeft(name, "-"), cmd: cmd}
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: "); ok {
		return fmt.Errorf("--%s needs a value", strings.TrimLeft(name, "-"))
	}
	return err
}

// unknownFlag is Parse's error for a flag the command does not have.
type unknownFlag struct{ name, cmd string }

func (e *unknownFlag) Error() string {
	return fmt.Sprintf("unknown flag --%s (see %s -h)", e.name, e.cmd)
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
