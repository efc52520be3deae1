package fleet

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"time"

	"bitqueue/bench/internal/config"
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

func startProc(ctx context.Context, argv []string, timeout time.Duration) (*Proc, error) {
	p := &Proc{cmd: exec.Command(argv[0], argv[1:]...), done: make(chan error, 1)}
	p.cmd.Env = config.ProcessEnv() // tracing off
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
			serving := strings.Contains(line, "msg=serving")
			p.mu.Lock()
			if serving {
				p.Serve = logDuration(line, "ready_after=")
			}
			if strings.Contains(line, `msg="cache built"`) {
				p.CacheBuild = logDuration(line, "took=")
			}
			p.tail = append(p.tail, line)
			if len(p.tail) > 40 {
				p.tail = p.tail[len(p.tail)-20:]
			}
			p.mu.Unlock()
			if serving {
				select {
				case ready <- time.Now():
				default:
				}
			}
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
