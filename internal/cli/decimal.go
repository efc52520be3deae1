package cli

import (
	"errors"
	"strconv"
	"strings"
)

// errNotDecimal is why a value of an integer flag was refused when it is
// not written in decimal digits; the message the user sees names the range.
var errNotDecimal = errors.New("not a decimal integer")

// decimalDigits returns s, an optional minus sign (when signed) and one or
// more digits 0-9, with the leading zeros of its digits removed: the form
// that strconv reads as decimal whatever the base it is given. Integer flags
// read their values this way, as input files do: `010` is ten, and `0x10`,
// `0b11`, `0o7`, `1_000` and `+5` are refused. A minus sign is accepted for
// signed flags only, so that a negative value is refused by the command's
// range check, naming the range.
func decimalDigits(s string, signed bool) (string, error) {
	sign, digits := "", s
	if signed && strings.HasPrefix(s, "-") {
		sign, digits = "-", s[1:]
	}
	if digits == "" {
		return "", errNotDecimal
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return "", errNotDecimal
		}
	}
	digits = strings.TrimLeft(digits, "0")
	if digits == "" {
		return "0", nil
	}
	return sign + digits, nil
}

// Atoi reads s as a decimal integer the way integer flags do: digits 0-9
// with an optional leading minus sign, leading zeros allowed (`010` is ten),
// no other base, no `+`, no `_`. It is for integers a command reads from a
// flag of its own syntax, such as a comma-separated list.
func Atoi(s string) (int, error) {
	digits, err := decimalDigits(s, true)
	if err != nil {
		return 0, &strconv.NumError{Func: "Atoi", Num: s, Err: strconv.ErrSyntax}
	}
	return strconv.Atoi(digits)
}
