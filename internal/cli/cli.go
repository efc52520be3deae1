// Package cli holds what bitqueue's commands share on the command line. A
// command declares its flags once, as a struct of fields tagged for kong
// (github.com/alecthomas/kong), which Parse reads: each flag with its
// environment variable, its group in the help, its default; subcommands as
// fields tagged cmd. On top of kong, Parse keeps the conventions of every
// bitqueue command: variables read through the command's getenv, decimal
// integers only, usage errors that name the value as the user gave it, flag
// or variable, single-dash long flags, flags before or after a subcommand,
// --version, help grouped by topic with examples, and exit codes scripts can
// trust. The flags several commands share (Redis, RedisWait, Prefix,
// Logging) are declared here once.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
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

// SettingFault is an error that a package below the commands marks as the
// fault of a setting (such as redisconn.SettingError), without importing
// cli: ExitCode makes it a usage error.
type SettingFault interface {
	error
	SettingFault()
}

// Usagef returns a UsageError with a formatted message.
func Usagef(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// ExitCode maps the error a command returned to its exit code: 0 for nil,
// help and --version, ExitUsage for a UsageError or a SettingFault,
// ExitFailure otherwise.
func ExitCode(err error) int {
	var u *UsageError
	var f SettingFault
	switch {
	case err == nil, errors.Is(err, ErrHelp), errors.Is(err, ErrVersion):
		return ExitOK
	case errors.As(err, &u), errors.As(err, &f):
		return ExitUsage
	default:
		return ExitFailure
	}
}

// RunFunc is the testable body of a command.
type RunFunc func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error

// Main runs a command with the process's arguments and environment, cancelling
// its context on SIGINT or SIGTERM, and exits with the code Run returns.
func Main(name string, run RunFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Run(ctx, name, run, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
