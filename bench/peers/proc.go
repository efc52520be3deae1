package peers

import (
	"bytes"
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

// proc is a Python process started in a process group of its own, so that
// stopping it stops the worker processes it forked too.
type proc struct {
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *lines
	errs  *tail
	done  chan struct{} // closed once the process has exited
	err   error         // how it exited, once done is closed
}

func start(name, dir string, env []string, python string, args ...string) (*proc, error) {
	p := &proc{name: name, out: &lines{c: make(chan string, 16)}, errs: &tail{max: 4 << 10}, done: make(chan struct{})}
	p.cmd = exec.Command(python, args...)
	p.cmd.Dir = dir
	p.cmd.Env = env
	p.cmd.Stdout = p.out
	p.cmd.Stderr = p.errs
	// Pdeathsig: should this program die without stopping the peer, its
	// main process goes too rather than holding the machine.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	// Forked workers may hold the output pipes after the process exits;
	// stop kills them, and this bounds the wait for their output.
	p.cmd.WaitDelay = 5 * time.Second
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("peers: start %s: %w", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// pgid is the id of the process group holding the process and its workers.
func (p *proc) pgid() int { return p.cmd.Process.Pid }

// exited returns an error saying how the process ended, with the end of its
// standard error.
func (p *proc) exited() error {
	return fmt.Errorf("peers: %s exited (%v): %s", p.name, p.err, p.errs.String())
}

// readLine returns the next line the process prints.
func (p *proc) readLine(ctx context.Context) (string, error) {
	select {
	case l := <-p.out.c:
		return l, nil
	case <-ctx.Done():
		return "", fmt.Errorf("peers: waiting for %s: %w", p.name, context.Cause(ctx))
	case <-p.done:
		select {
		case l := <-p.out.c:
			return l, nil
		default:
			return "", p.exited()
		}
	}
}

// stop asks the process group to end (SIGTERM), kills it after grace, and
// kills whatever of the group outlives the process.
func (p *proc) stop(grace time.Duration) {
	_ = syscall.Kill(-p.pgid(), syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
	}
	_ = syscall.Kill(-p.pgid(), syscall.SIGKILL)
	<-p.done
}

// lines passes each complete line written to it to c, dropping lines when
// nobody reads them.
type lines struct {
	mu      sync.Mutex
	partial []byte
	c       chan string
}

func (l *lines) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, b...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			return len(b), nil
		}
		select {
		case l.c <- string(l.partial[:i]):
		default:
		}
		l.partial = l.partial[i+1:]
	}
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, b...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = t.b[over:]
	}
	return len(b), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.b))
}

// clockTicks is the unit of the CPU times in /proc/<pid>/stat (USER_HZ, 100
// on every Linux).
const clockTicks = 100

// groupCPU returns the CPU time (user and system) used so far by the live
// processes of the process groups pgids.
func groupCPU(pgids ...int) (time.Duration, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	var ticks uint64
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // it exited meanwhile
		}
		pgrp, t, err := parseStat(b)
		if err != nil {
			return 0, fmt.Errorf("/proc/%s/stat: %w", e.Name(), err)
		}
		for _, g := range pgids {
			if pgrp == g {
				ticks += t
			}
		}
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

var errStat = errors.New("unexpected format")

// parseStat returns the process group and the user plus system CPU ticks of
// a /proc/<pid>/stat line.
func parseStat(b []byte) (pgrp int, ticks uint64, err error) {
	// The command name, field 2, is in parentheses and may hold spaces and
	// parentheses itself: the fields that follow start after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, errStat
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 { // state ppid pgrp ... utime (field 14) stime (field 15)
		return 0, 0, errStat
	}
	pgrp, err = strconv.Atoi(f[2])
	if err != nil {
		return 0, 0, errStat
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, errStat
	}
	return pgrp, utime + stime, nil
}
