package config

import (
	"os"
	"strings"
)

// ProcessEnv is the environment of every process the benchmark starts
// (workers, producers, the peers): the benchmark's own, without any OTEL_*
// variable, so that tracing is off in every process measured, whatever the
// shell exports, and the figures are those of bitqueue as it runs by
// default.
func ProcessEnv() []string { return WithoutOTel(os.Environ()) }

// WithoutOTel returns env ("NAME=value" entries) without its OTEL_*
// variables.
func WithoutOTel(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if !strings.HasPrefix(kv, "OTEL_") {
			out = append(out, kv)
		}
	}
	return out
}
