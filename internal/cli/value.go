package cli

import (
	"fmt"
	"math/big"
	"net"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/kong"
)

// decoder reads the values of flags of the kinds bitqueue's commands use
// (string, bool, integers, time.Duration) in place of kong's own decoders:
// integers in decimal only, every refusal a badValue naming the value as the
// user gave it, and the text of every value given on the command line
// recorded for Parsed.Source.
type decoder struct {
	p      *parser
	isBool bool
}

// IsBool makes a bool flag a switch for kong: --wait, or --wait=false.
func (d decoder) IsBool() bool { return d.isBool }

func (d decoder) Decode(ctx *kong.DecodeContext, target reflect.Value) error {
	raw := ""
	switch {
	case !d.isBool:
		t, err := ctx.Scan.PopValue("value")
		if err != nil {
			return err
		}
		raw = t.String()
	case ctx.Scan.Peek().Type == kong.FlagValueToken:
		raw = ctx.Scan.Pop().String()
	}
	if d.p.phase == phaseTrace {
		d.p.set[ctx.Value] = setting{raw: raw}
	}
	if err := set(target, raw); err != nil {
		return d.refuse(ctx.Value, raw)
	}
	return nil
}

// set sets target, of one of the kinds decoder reads, from raw.
func set(target reflect.Value, raw string) error {
	if target.Type() == reflect.TypeFor[time.Duration]() {
		d, err := time.ParseDuration(raw)
		if err != nil {
			return err
		}
		target.SetInt(int64(d))
		return nil
	}
	switch target.Kind() {
	case reflect.String:
		target.SetString(raw)
	case reflect.Bool:
		if raw == "" {
			raw = "true" // a switch given without a value
		}
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return err
		}
		target.SetBool(b)
	case reflect.Int, reflect.Int64:
		digits, err := decimalDigits(raw, true)
		if err != nil {
			return err
		}
		n, err := strconv.ParseInt(digits, 10, target.Type().Bits())
		if err != nil {
			return err
		}
		target.SetInt(n)
	case reflect.Uint, reflect.Uint64:
		digits, err := decimalDigits(raw, false)
		if err != nil {
			return err
		}
		n, err := strconv.ParseUint(digits, 10, target.Type().Bits())
		if err != nil {
			return err
		}
		target.SetUint(n)
	default:
		return fmt.Errorf("cli: no decoder for %s", target.Type())
	}
	return nil
}

// badValue is a value a flag refused, named as the user gave it; or, when
// ofDefault, the grammar's default, a mistake of the command.
type badValue struct {
	where, want string
	ofDefault   bool
}

func (e *badValue) Error() string { return e.where + ": " + e.want }

// refuse returns the error for raw, refused by the flag of v: named as a
// flag (--count x) or, while Parse reads the environment, as the variable
// it came from (BITQUEUE_COUNT=x (for --count)); then what the flag takes.
func (d decoder) refuse(v *kong.Value, raw string) error {
	bad := &badValue{where: "--" + v.Name + " " + quote(raw), want: want(v)}
	switch s := d.p.set[v]; {
	case d.p.phase == phaseResolve && s.variable != "":
		bad.where = s.variable + "=" + quote(raw) + " (for --" + v.Name + ")"
	case d.p.phase == phaseReset:
		bad.where, bad.ofDefault = "the default of --"+v.Name+", "+quote(raw), true
	}
	return bad
}

// rangeInHelp finds the first range in a flag's help: "1..1000", "1..2^63",
// or of durations, "1s..24h".
var rangeInHelp = regexp.MustCompile(`(2\^[0-9]+|-?[0-9][0-9_]*(?:[nµu]?s|ms|m|h)?)\.\.(2\^[0-9]+|-?[0-9][0-9_]*(?:[nµu]?s|ms|m|h)?)`)

// checkRange refuses the value of f when it was given, flag or variable,
// outside the range f's help writes as lo..hi.
func (p *Parsed) checkRange(f *kong.Flag) error {
	m := rangeInHelp.FindStringSubmatch(f.Help)
	if m == nil || !p.Given(f.Name) {
		return nil
	}
	v, lo, hi := f.Target, m[1], m[2]
	var in bool
	if v.Type() == reflect.TypeFor[time.Duration]() {
		l, errL := time.ParseDuration(lo)
		h, errH := time.ParseDuration(hi)
		if errL != nil || errH != nil {
			return fmt.Errorf("cli: --%s: the range %s..%s of its help is not of durations", f.Name, lo, hi)
		}
		d := time.Duration(v.Int())
		in = l <= d && d <= h
	} else {
		var n big.Int
		switch v.Kind() {
		case reflect.Int, reflect.Int64:
			n.SetInt64(v.Int())
		case reflect.Uint, reflect.Uint64:
			n.SetUint64(v.Uint())
		default:
			return nil
		}
		l, okL := bound(lo)
		h, okH := bound(hi)
		if !okL || !okH {
			return fmt.Errorf("cli: --%s: the range %s..%s of its help is not of whole numbers", f.Name, lo, hi)
		}
		in = n.Cmp(l) >= 0 && n.Cmp(h) <= 0
	}
	if !in {
		return Usagef("%s out of range [%s, %s]", p.Source(f.Name), lo, hi)
	}
	return nil
}

// bound reads a whole number of a range: decimal, or a power of two, 2^63.
func bound(s string) (*big.Int, bool) {
	if exp, ok := strings.CutPrefix(s, "2^"); ok {
		e, err := strconv.Atoi(exp)
		return new(big.Int).Lsh(big.NewInt(1), uint(e)), err == nil
	}
	return new(big.Int).SetString(strings.ReplaceAll(s, "_", ""), 10)
}

// want says what a flag of v's kind takes, with the range its help gives,
// if any.
func want(v *kong.Value) string {
	span := ""
	if m := rangeInHelp.FindStringSubmatch(v.Help); m != nil {
		span = " from " + m[1] + " to " + m[2]
	}
	t := v.Target.Type()
	switch {
	case t == reflect.TypeFor[time.Duration]():
		return "want a duration such as 500ms, 30s, 5m or 1h30m"
	case t.Kind() == reflect.Bool:
		return "want true or false"
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int64:
		return "want a whole number" + span
	case t.Kind() == reflect.Uint || t.Kind() == reflect.Uint64:
		if span == "" {
			span = ", 0 or more"
		}
		return "want a whole number" + span
	default:
		return "want a " + t.String()
	}
}

// IsHostPort reports whether addr is a listening address, host:port or
// :port, with a port.
func IsHostPort(addr string) bool {
	_, port, err := net.SplitHostPort(addr)
	return err == nil && port != ""
}
