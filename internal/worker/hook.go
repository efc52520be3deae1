// Package worker runs one process of a bitqueue worker fleet: it builds the
// process's state once with a startup hook, hands that state to the task
// handler, and only then starts pulling tasks.
package worker

import "context"

// Hook builds the state a worker process shares between all of its task
// handlers. Serve calls Start exactly once per process, before the process
// pulls its first task; if Start fails, no task is pulled.
type Hook[S any] interface {
	Start(ctx context.Context) (S, error)
}

// HookFunc adapts a function to a Hook.
type HookFunc[S any] func(ctx context.Context) (S, error)

// Start calls f.
func (f HookFunc[S]) Start(ctx context.Context) (S, error) { return f(ctx) }
