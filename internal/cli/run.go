package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"bitqueue/internal/logging"
)

// LogFormatVar is the environment variable of every command's --log-format.
const LogFormatVar = "BITQUEUE_LOG_FORMAT"

// Run runs a command as Main does, without exiting: it calls run, prints the
// version on stdout when run returns ErrVersion, reports any other error on
// stderr and returns the exit code. The error is the last line a command
// writes, so it follows the command's log format: with --log-format json (or
// BITQUEUE_LOG_FORMAT=json) it is one JSON object
//
//	{"time":…,"level":"ERROR","msg":"exit","err":"…","code":N}
//
// and otherwise the plain line "NAME: ERROR" — also when the error is that the
// command has no --log-format flag: a command cannot follow a format it
// refused.
func Run(ctx context.Context, name string, run RunFunc, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	err := run(ctx, args, getenv, stdout, stderr)
	code := ExitCode(err)
	switch {
	case err == nil, errors.Is(err, ErrHelp):
	case errors.Is(err, ErrVersion):
		fmt.Fprintln(stdout, Version(name))
	case LogFormat(args, getenv) == "json" && !refusesLogFormat(err):
		log, _ := logging.New(stderr, "json", "info")
		log.Error("exit", "err", err.Error(), "code", code)
	default:
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
	}
	return code
}

// refusesLogFormat reports whether err is a command refusing --log-format as
// a flag it does not have.
func refusesLogFormat(err error) bool {
	var u *unknownFlag
	return errors.As(err, &u) && u.name == "log-format"
}

// LogFormat returns the log format a command was started with: the value of
// its --log-format flag in args (before any "--"), else of
// BITQUEUE_LOG_FORMAT, else "text". Run reads it without parsing the
// command's flags, so that even an error in them is reported in that format.
func LogFormat(args []string, getenv func(string) string) string {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "log-format" {
			continue
		}
		if !hasValue {
			if i+1 >= len(args) {
				break
			}
			i++
			value = args[i]
		}
		return value
	}
	if v := getenv(LogFormatVar); v != "" {
		return v
	}
	return "text"
}
