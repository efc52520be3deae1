// Package health holds a process's readiness, made of named checks, and the
// HTTP handlers that report it: /healthz (the process is alive) and /readyz
// (the process may be sent work).
package health

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
)

// State is a process's readiness: ready once at least one check has been
// reported and every check reported so far passes. A check is a name, such
// as "startup" or "redis", and a reason: empty when the check passes, a
// one-line explanation ("building cache", "waiting for Redis") when it does
// not. A new State is not ready, with the reason "starting". State is safe
// for concurrent use.
type State struct {
	mu       sync.Mutex
	order    []string          // check names, in the order first reported
	failing  map[string]string // check name → reason, for failing checks
	onChange func(ready bool, reason string)
}

// New returns a State that is not ready, with the reason "starting". onChange,
// when not nil, is called every time readiness or its reason changes, with
// the new readiness and reason; calls are serialised, in order of the
// changes, and must not call back into the State.
func New(onChange func(ready bool, reason string)) *State {
	return &State{failing: map[string]string{}, onChange: onChange}
}

// Report sets check's state: passing when reason is empty, failing with
// reason otherwise. Runs of white space in reason, newlines included, become
// one space, so that /readyz always answers with one line.
func (s *State) Report(check, reason string) {
	reason = strings.Join(strings.Fields(reason), " ")
	s.mu.Lock()
	defer s.mu.Unlock()
	wasReady, wasReason := s.readyLocked()
	if !slices.Contains(s.order, check) {
		s.order = append(s.order, check)
	}
	if reason == "" {
		delete(s.failing, check)
	} else {
		s.failing[check] = reason
	}
	ready, why := s.readyLocked()
	if s.onChange != nil && (ready != wasReady || why != wasReason) {
		s.onChange(ready, why)
	}
}

// Ready reports whether the process is ready and, when it is not, why: the
// reason of the first failing check, in the order checks were first
// reported, or "starting" when no check has been reported yet.
func (s *State) Ready() (ready bool, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.readyLocked()
}

func (s *State) readyLocked() (bool, string) {
	if len(s.order) == 0 {
		return false, "starting"
	}
	for _, c := range s.order {
		if r, ok := s.failing[c]; ok {
			return false, r
		}
	}
	return true, ""
}

// Healthz answers 200 "ok" to any GET or HEAD as long as the process can
// answer at all: it is the liveness probe, independent of readiness, so that
// a worker building its cache or waiting for Redis is not restarted.
func Healthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !getOrHead(w, r) {
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
}

// Readyz answers 200 "ready" when s is ready and 503 with the one-line reason
// (such as "waiting for Redis") when it is not.
func (s *State) Readyz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !getOrHead(w, r) {
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		ready, reason := s.Ready()
		if !ready {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "not ready: %s\n", reason)
			return
		}
		io.WriteString(w, "ready\n")
	})
}

func getOrHead(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	return false
}
