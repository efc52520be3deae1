package cli

import (
	"strings"
)

// Aliases are the environment variables that bitqueue read before every
// variable took the BITQUEUE_ prefix, keyed by the variable that replaced
// each. Both names keep working; when both are set, the BITQUEUE_ one wins.
// This is the one table of them: Parse reads flags' variables through it,
// Redis.Options the passwords, and -h shows both names.
var Aliases = map[string]string{
	"BITQUEUE_REDIS_URL":               "REDIS_URL",
	"BITQUEUE_REDIS_PASSWORD":          "REDIS_PASSWORD",
	"BITQUEUE_REDIS_SENTINEL_PASSWORD": "REDIS_SENTINEL_PASSWORD",
}

// Lookup returns the value of the environment variable named, or of the
// other name it goes by in Aliases (either name may be given), and which of
// the two it came from. The BITQUEUE_ name wins when both are set; an empty
// variable counts as unset.
func Lookup(getenv func(string) string, variable string) (from, value string) {
	for _, name := range names(variable) {
		if v := getenv(name); v != "" {
			return name, v
		}
	}
	return variable, ""
}

// names returns variable's names, the BITQUEUE_ one first.
func names(variable string) []string {
	if old, ok := Aliases[variable]; ok {
		return []string{variable, old}
	}
	for current, old := range Aliases {
		if old == variable {
			return []string{current, old}
		}
	}
	return []string{variable}
}

// VarName returns the environment variable a flag answers to under prefix:
// prefix, then the flag's name in upper case with dashes as underscores
// ("BITQUEUE_", "redis-wait" → "BITQUEUE_REDIS_WAIT").
func VarName(prefix, flagName string) string {
	return prefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}
