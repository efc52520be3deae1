package main

import (
	"io"

	"bitqueue/internal/cli"
)

// parse parses and checks the command line of producing, as run does.
func parse(args []string, getenv func(string) string, stdout io.Writer) (config, error) {
	f, p, err := parseArgs(args, getenv, stdout)
	if err != nil {
		return config{}, err
	}
	if p.Command != "" {
		return config{}, cli.Usagef("producer %s: not a run to produce", p.Command)
	}
	return f.config(p, getenv)
}

// parseInspect parses and checks the command line of the inspect
// subcommand cmd, args being what follows cmd, as run does.
func parseInspect(cmd string, args []string, getenv func(string) string, stdout io.Writer) (inspectConfig, error) {
	f, p, err := parseArgs(append([]string{cmd}, args...), getenv, stdout)
	if err != nil {
		return inspectConfig{}, err
	}
	return f.inspectConfig(p, getenv)
}
