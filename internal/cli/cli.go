// Package cli holds what bitqueue's commands share on the command line: flags
// with environment fallbacks, usage errors and exit codes scripts can trust.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitFailure = 1 // a runtime failure: Redis unreachable, a failed batch, a timeout
	ExitUsage   = 2 // bad flags or bad input
)

// UsageError is an error in how a command was called or in its input. It makes
// the command exit with ExitUsage.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef returns a UsageError with a formatted message.
func Usagef(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// ExitCode maps the error a command returned to its exit code.
func ExitCode(err error) int {
	var u *UsageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return ExitOK
	case errors.As(err, &u):
		return ExitUsage
	default:
		return ExitFailure
	}
}

// RunFunc is the testable body of a command.
type RunFunc func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error

// Main runs a command with the process's arguments and environment, cancelling
// its context on SIGINT or SIGTERM, prints its error and exits with its code.
func Main(name string, run RunFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
	}
	os.Exit(ExitCode(err))
}

// Parse parses args into fs. A flag absent from args takes its value from the
// environment variable env[flag name] when that is set and non-empty. Errors
// are UsageErrors naming the flag or the variable.
func Parse(fs *flag.FlagSet, args []string, getenv func(string) string, env map[string]string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &UsageError{Err: err}
	}
	if fs.NArg() > 0 {
		return Usagef("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, name := range slices.Sorted(maps.Keys(env)) {
		if set[name] {
			continue
		}
		variable := env[name]
		if v := getenv(variable); v != "" {
			if err := fs.Set(name, v); err != nil {
				return Usagef("%s=%q (for --%s): %v", variable, v, name, err)
			}
		}
	}
	return nil
}

// PrintUsage writes fs's flags, each with its environment variable, to w.
func PrintUsage(w io.Writer, fs *flag.FlagSet, synopsis string, env map[string]string) {
	fmt.Fprintf(w, "Usage: %s\n\nFlags:\n", synopsis)
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		fmt.Fprintf(w, "  %s\n    \t%s", strings.TrimSpace("--"+f.Name+" "+name), usage)
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "0s" {
			fmt.Fprintf(w, " (default %s)", f.DefValue)
		}
		if v, ok := env[f.Name]; ok {
			fmt.Fprintf(w, " [$%s]", v)
		}
		fmt.Fprintln(w)
	})
}
