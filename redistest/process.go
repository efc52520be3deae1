package redistest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Process is a child process started in a process group of its own, with its
// standard output and error captured in a LogBuffer (unless the command had
// writers of its own). Killing it kills the whole group, so that nothing it
// started outlives it.
type Process struct {
	cmd  *exec.Cmd
	logs *LogBuffer
	done chan struct{} // closed once the process has exited
	err  error         // what Wait returned; read after done is closed
}

// StartProcess starts cmd in a new process group. Output not already sent
// elsewhere goes to the process's LogBuffer.
func StartProcess(cmd *exec.Cmd) (*Process, error) {
	p := &Process{cmd: cmd, logs: &LogBuffer{}, done: make(chan struct{})}
	if cmd.Stdout == nil {
		cmd.Stdout = p.logs
	}
	if cmd.Stderr == nil {
		cmd.Stderr = p.logs
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Pid returns the process id (also its process group id).
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Logs returns what the process has written so far to the LogBuffer.
func (p *Process) Logs() string { return p.logs.String() }

// LogBuffer returns the buffer that captures the process's output.
func (p *Process) LogBuffer() *LogBuffer { return p.logs }

// Done is closed once the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Signal sends sig to the process alone (not its group). Signalling a
// process that has exited is not an error.
func (p *Process) Signal(sig syscall.Signal) error {
	if p.Exited() {
		return nil
	}
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal %s to %d: %w", sig, p.Pid(), err)
	}
	return nil
}

// SignalGroup sends sig to every process of the group.
func (p *Process) SignalGroup(sig syscall.Signal) error {
	if err := syscall.Kill(-p.Pid(), sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal %s to group %d: %w", sig, p.Pid(), err)
	}
	return nil
}

// Kill sends SIGKILL to the process group and waits until the process has
// exited. It is safe to call more than once and after the process exited.
func (p *Process) Kill() {
	_ = p.SignalGroup(syscall.SIGKILL)
	<-p.done
}

// Wait waits up to timeout for the process to exit and returns its exit code
// (-1 when a signal ended it). It fails when the process still runs after
// timeout or could not be waited for.
func (p *Process) Wait(timeout time.Duration) (int, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-p.done:
		return p.exitCode()
	case <-timer.C:
		return -1, fmt.Errorf("process %d (%s) still running after %s", p.Pid(), p.cmd.Path, timeout)
	}
}

// Stop sends sig to the process and waits up to timeout for it to exit,
// returning its exit code as Wait does.
func (p *Process) Stop(sig syscall.Signal, timeout time.Duration) (int, error) {
	if err := p.Signal(sig); err != nil {
		return -1, err
	}
	code, err := p.Wait(timeout)
	if err != nil {
		return code, fmt.Errorf("after %s: %w", sig, err)
	}
	return code, nil
}

func (p *Process) exitCode() (int, error) {
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode(), nil
	}
	if p.err != nil {
		return -1, p.err
	}
	return 0, nil
}
