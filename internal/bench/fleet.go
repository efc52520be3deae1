package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Proc is one worker process of a fleet.
type Proc struct {
	cmd *exec.Cmd
	// Ready is the time from just before the process was started to the
	// moment its "msg=serving" log line reached the benchmark: process
	// start, runtime start-up, the startup hook, the Redis check and the
	// asynq server start, after which the first task can be pulled.
	Ready time.Duration
	// CacheBuild and Serve are what the process logged: how long building
	// its cache took, and Serve's own start (hook, Redis check, asynq start)
	// up to serving. Ready minus Serve is the process's start before Serve.
	CacheBuild, Serve time.Duration
	done              chan error
	mu                sync.Mutex
	tail              []string // the last log lines, for error messages
}

// Fleet is a set of worker processes serving one queue.
type Fleet struct {
	Name  string
	Procs []*Proc
}

// StartFleet starts n processes, process i running argv(i), one after the other, each once the
// previous one serves, so that each one's ready time is its own and not a
// share of a crowd's. It fails when a process exits or does not serve within
// timeout.
func StartFleet(ctx context.Context, name string, n int, argv func(i int) []string, timeout time.Duration) (*Fleet, error) {
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

func startProc(ctx context.Context, argv []string, timeout time.Duration) (*Proc, error) {
	p := &Proc{cmd: exec.Command(argv[0], argv[1:]...), done: make(chan error, 1)}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	p.cmd.Stdout = io.Discard
	ready := make(chan time.Time, 1)
	began := time.Now()
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if strings.Contains(line, "msg=serving") {
				at := time.Now()
				p.mu.Lock()
				p.Serve = logDuration(line, "ready_after=")
				p.mu.Unlock()
				select {
				case ready <- at:
				default:
				}
			}
			p.mu.Lock()
			if strings.Contains(line, `msg="cache built"`) {
				p.CacheBuild = logDuration(line, "took=")
			}
			p.tail = append(p.tail, line)
			if len(p.tail) > 40 {
				p.tail = p.tail[len(p.tail)-20:]
			}
			p.mu.Unlock()
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	go func() {
		<-scanned // Wait closes the pipe: read it to the end first
		p.done <- p.cmd.Wait()
	}()
	select {
	case at := <-ready:
		p.Ready = at.Sub(began)
		p.mu.Lock() // Serve and CacheBuild were set before ready was sent
		p.mu.Unlock()
		return p, nil
	case err := <-p.done:
		p.done <- err
		return nil, fmt.Errorf("%s exited before serving (%v): %s", strings.Join(argv, " "), err, p.Tail())
	case <-time.After(timeout):
		p.kill()
		return nil, fmt.Errorf("%s did not serve within %s: %s", argv[0], timeout, p.Tail())
	case <-ctx.Done():
		p.kill()
		return nil, ctx.Err()
	}
}

// Tail returns the process's last log lines.
func (p *Proc) Tail() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.tail[max(0, len(p.tail)-8):], "\n")
}

// Pid is the process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// PeakRSS is the process's peak resident set size so far (VmHWM).
func (p *Proc) PeakRSS() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Pid()))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmHWM in /proc/<pid>/status")
}

// CPU is the CPU time (user + system) the process has used so far, at the
// kernel's clock-tick resolution (10 ms).
func (p *Proc) CPU() (time.Duration, error) { return procCPU(p.Pid()) }

func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses and may hold
	// spaces: state is field 3, utime 14 and stime 15.
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	const tick = 10 * time.Millisecond // USER_HZ is 100 on Linux
	return time.Duration(utime+stime) * tick, nil
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

func (p *Proc) kill() {
	_ = p.cmd.Process.Kill()
	err := <-p.done
	p.done <- err
}

// logDuration returns the duration logged after key ("took=4.1ms") in a
// text log line, 0 when there is none.
func logDuration(line, key string) time.Duration {
	i := strings.Index(line, " "+key)
	if i < 0 {
		return 0
	}
	v := line[i+1+len(key):]
	if j := strings.IndexByte(v, ' '); j >= 0 {
		v = v[:j]
	}
	d, _ := time.ParseDuration(v)
	return d
}
