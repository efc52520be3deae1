// Package fleet starts and watches the worker processes a benchmark measures:
// each one's ready time as it logs it, its CPU time and peak RSS from /proc,
// and whether it is still alive.
package fleet

import (
	"context"
	"fmt"
	"syscall"
	"time"
)

// Fleet is a set of worker processes serving one queue.
type Fleet struct {
	Name  string
	Procs []*Proc
}

// Start starts n processes, process i running argv(i), one after the other,
// each once the previous one serves, so that each one's ready time is its own and not a
// share of a crowd's. It fails when a process exits or does not serve within
// timeout.
func Start(ctx context.Context, name string, n int, argv func(i int) []string, timeout time.Duration) (*Fleet, error) {
	f := &Fleet{Name: name}
	for i := range n {
		p, err := startProc(ctx, argv(i), timeout)
		if err != nil {
			f.Stop()
			return nil, fmt.Errorf("%s worker: %w", name, err)
		}
		f.Procs = append(f.Procs, p)
	}
	return f, nil
}

// CPU is the CPU time the fleet's processes have used so far.
func (f *Fleet) CPU() (time.Duration, error) {
	var total time.Duration
	for _, p := range f.Procs {
		c, err := p.CPU()
		if err != nil {
			return 0, err
		}
		total += c
	}
	return total, nil
}

// Alive returns an error naming the first process that has exited.
func (f *Fleet) Alive() error {
	for _, p := range f.Procs {
		select {
		case err := <-p.done:
			p.done <- err
			return fmt.Errorf("%s worker %d exited (%v): %s", f.Name, p.Pid(), err, p.Tail())
		default:
		}
	}
	return nil
}

// Stop sends SIGTERM to every process and waits for them to exit (killing
// those still running after 20 s).
func (f *Fleet) Stop() {
	for _, p := range f.Procs {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range f.Procs {
		select {
		case err := <-p.done:
			p.done <- err
		case <-time.After(20 * time.Second):
			p.kill()
		}
	}
}
