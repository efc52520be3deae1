package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is a redis-server process started for one benchmark: loopback only,
// no persistence, removed with its directory by Stop.
type Server struct {
	URL  string
	cmd  *exec.Cmd
	dir  string
	done chan error
	logs bytes.Buffer
}

// StartServer starts binary (redis-server) on a free loopback port and waits
// until it answers PING.
func StartServer(ctx context.Context, binary string) (*Server, error) {
	path, err := exec.LookPath(binary)
	if err != nil {
		return nil, fmt.Errorf("%s not found (install Redis 7, or pass --redis URL): %w", binary, err)
	}
	var lastErr error
	for range 3 { // the free port may be taken between probe and bind
		s, err := startServer(ctx, path)
		if err == nil {
			return s, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func startServer(ctx context.Context, path string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "bitqueue-bench-redis-")
	if err != nil {
		return nil, err
	}
	s := &Server{URL: fmt.Sprintf("redis://127.0.0.1:%d/0", port), dir: dir, done: make(chan error, 1)}
	s.cmd = exec.Command(path,
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--protected-mode", "yes",
		"--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no")
	s.cmd.Stdout, s.cmd.Stderr = &s.logs, &s.logs
	if err := s.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	go func() { s.done <- s.cmd.Wait() }()

	opt, _ := redis.ParseURL(s.URL)
	c := redis.NewClient(opt)
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := c.Ping(ctx).Err(); err == nil {
			return s, nil
		}
		select {
		case err := <-s.done:
			s.done <- err
			os.RemoveAll(dir)
			return nil, fmt.Errorf("redis-server on port %d exited: %v: %s", port, err, lastLines(s.logs.String(), 5))
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
			s.Stop()
			return nil, ctx.Err()
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("redis-server on port %d did not answer within 10s", port)
		}
	}
}

// Pid is the server's process id.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Stop terminates the server and removes its directory.
func (s *Server) Stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		s.done <- err
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	os.RemoveAll(s.dir)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], " | ")
}

// Info returns the fields of one INFO section.
func Info(ctx context.Context, c redis.UniversalClient, section string) (map[string]string, error) {
	raw, err := c.Info(ctx, section).Result()
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(raw))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[k] = v
		}
	}
	return m, nil
}

// CmdStat is one command's line of INFO commandstats.
type CmdStat struct {
	Calls int64
	Usec  int64 // total microseconds Redis spent executing it
}

// CommandStats returns INFO commandstats by command name.
func CommandStats(ctx context.Context, c redis.UniversalClient) (map[string]CmdStat, error) {
	m, err := Info(ctx, c, "commandstats")
	if err != nil {
		return nil, err
	}
	out := make(map[string]CmdStat, len(m))
	for k, v := range m {
		name, ok := strings.CutPrefix(k, "cmdstat_")
		if !ok {
			continue
		}
		var st CmdStat
		for f := range strings.SplitSeq(v, ",") {
			fk, fv, _ := strings.Cut(f, "=")
			n, _ := strconv.ParseInt(fv, 10, 64)
			switch fk {
			case "calls":
				st.Calls = n
			case "usec":
				st.Usec = n
			}
		}
		out[name] = st
	}
	return out, nil
}

// RedisCPU returns the CPU time the Redis server has used (user + system).
func RedisCPU(ctx context.Context, c redis.UniversalClient) (time.Duration, error) {
	m, err := Info(ctx, c, "cpu")
	if err != nil {
		return 0, err
	}
	var total float64
	for _, k := range []string{"used_cpu_user", "used_cpu_sys"} {
		v, err := strconv.ParseFloat(m[k], 64)
		if err != nil {
			return 0, fmt.Errorf("INFO cpu %s=%q: %w", k, m[k], err)
		}
		total += v
	}
	return time.Duration(total * float64(time.Second)), nil
}

// UsedMemory returns INFO memory used_memory in bytes.
func UsedMemory(ctx context.Context, c redis.UniversalClient) (int64, error) {
	m, err := Info(ctx, c, "memory")
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(m["used_memory"], 10, 64)
}

// Events sets the server's notify-keyspace-events to the flags it had when
// created plus those a trial needs, and restores them at the end. A pipeline
// trial needs hash events ("Kh": the result's HSET), a ceiling trial generic
// ones ("Kg": asynq's DEL of the finished task). Setting only what a trial
// needs keeps the watching cost of both kinds equal: one event per batch.
type Events struct {
	c   redis.UniversalClient
	old string
	cur string
}

// NewEvents reads the server's current notify-keyspace-events.
func NewEvents(ctx context.Context, c redis.UniversalClient) (*Events, error) {
	cur, err := c.ConfigGet(ctx, "notify-keyspace-events").Result()
	if err != nil {
		return nil, fmt.Errorf("CONFIG GET notify-keyspace-events: %w", err)
	}
	old := cur["notify-keyspace-events"]
	return &Events{c: c, old: old, cur: old}, nil
}

// Set enables flags on top of the original ones.
func (e *Events) Set(ctx context.Context, flags string) error {
	want := e.old
	for _, f := range flags {
		if !strings.ContainsRune(want, f) && !(f != 'K' && f != 'E' && strings.ContainsRune(want, 'A')) {
			want += string(f)
		}
	}
	if want == e.cur {
		return nil
	}
	if err := e.c.ConfigSet(ctx, "notify-keyspace-events", want).Err(); err != nil {
		return fmt.Errorf("CONFIG SET notify-keyspace-events %s (the benchmark watches results through keyspace events): %w", want, err)
	}
	e.cur = want
	return nil
}

// Restore puts the original flags back.
func (e *Events) Restore() {
	if e.cur == e.old {
		return
	}
	if err := e.c.ConfigSet(context.Background(), "notify-keyspace-events", e.old).Err(); err != nil && !errors.Is(err, redis.ErrClosed) {
		fmt.Fprintf(os.Stderr, "bench: restore notify-keyspace-events %q: %v\n", e.old, err)
	}
}
