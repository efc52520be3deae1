package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"bitqueue/internal/testredis"
)

// faultsEnv makes the fault tests fail, rather than skip, when redis-server
// is not installed; CI sets it to "require".
const faultsEnv = "BITQUEUE_FAULTS"

// redisServer is a redis-server process owned by one test: its own loopback
// port and data directory, so that the test may stop, kill, restart or fill
// it without touching any other test's Redis.
type redisServer struct {
	t    *testing.T
	port int
	dir  string
	args []string // extra redis-server arguments, such as --appendonly yes
	URL  string
	// Client talks to the server across restarts.
	Client *redis.Client
	cmd    *exec.Cmd
	done   chan error
	logs   *syncBuffer
}

// needRedisServer skips t, saying why, when redis-server is not installed,
// unless BITQUEUE_FAULTS=require (as in CI), where it fails t instead. Slow
// fault tests are also skipped under -short.
func needRedisServer(t *testing.T, slow bool) {
	t.Helper()
	if slow && testing.Short() {
		t.Skip("a fault test that waits for asynq's 30 s task lease; run without -short")
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv(faultsEnv) == "require" {
			t.Fatalf("redis-server is not installed (%v), and %s=require", err, faultsEnv)
		}
		t.Skipf("redis-server is not installed: fault tests start, stop and kill a Redis of their own (apt-get install redis-server; CI sets %s=require)", faultsEnv)
	}
}

// startRedisServer starts a redis-server on a free loopback port with its
// data in a temporary directory and no RDB snapshots, plus args, and waits
// until it serves. It is killed when t ends.
func startRedisServer(t *testing.T, args ...string) *redisServer {
	t.Helper()
	return startRedisServerOn(t, 0, args...)
}

// startRedisServerOn is startRedisServer on a given port; port 0 picks a
// free one.
func startRedisServerOn(t *testing.T, port int, args ...string) *redisServer {
	t.Helper()
	s := &redisServer{t: t, dir: t.TempDir(), args: args}
	t.Cleanup(func() {
		if s.running() {
			_ = s.cmd.Process.Kill()
			<-s.done
		}
		if t.Failed() && s.logs != nil {
			t.Logf("redis-server logs:\n%s", s.logs)
		}
	})
	// A port found free may be taken before redis-server binds it: try a
	// few.
	for attempt := 1; ; attempt++ {
		s.port = port
		if port == 0 {
			s.port = freePort(t)
		}
		s.URL = fmt.Sprintf("redis://127.0.0.1:%d/0", s.port)
		err := s.launch()
		if err == nil {
			break
		}
		require.True(t, port == 0 && attempt < 3, "start redis-server: %v", err)
	}
	s.Client = redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", s.port), MaxRetries: -1})
	t.Cleanup(func() { s.Client.Close() })
	return s
}

// freePort returns a loopback TCP port nothing listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// launch starts the process and waits until it answers commands, having
// loaded its data.
func (s *redisServer) launch() error {
	args := append([]string{
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--dir", s.dir,
		"--save", "", "--daemonize", "no", "--logfile", "",
	}, s.args...)
	s.logs = &syncBuffer{}
	s.cmd = exec.Command("redis-server", args...)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		return err
	}
	s.done = make(chan error, 1)
	go func() { s.done <- s.cmd.Wait() }()

	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", s.port), MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-s.done:
			s.done <- err
			return fmt.Errorf("redis-server exited: %v\n%s", err, s.logs)
		default:
		}
		// EXISTS fails with LOADING until the data set is loaded.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Exists(ctx, "bitqueue-probe").Err()
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			_ = s.cmd.Process.Kill()
			return fmt.Errorf("redis-server on port %d not serving after 30s: %v", s.port, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *redisServer) running() bool {
	if s.cmd == nil || s.done == nil {
		return false
	}
	select {
	case err := <-s.done:
		s.done <- err
		return false
	default:
		return true
	}
}

// stop sends sig (SIGTERM: save and exit; SIGKILL: die at once) and waits
// for the process to exit.
func (s *redisServer) stop(sig syscall.Signal) {
	s.t.Helper()
	require.NoError(s.t, s.cmd.Process.Signal(sig))
	select {
	case err := <-s.done:
		s.done <- err
	case <-time.After(30 * time.Second):
		s.t.Fatalf("redis-server did not exit within 30s of %s", sig)
	}
	s.t.Logf("redis-server on port %d stopped with %s", s.port, sig)
}

// restart starts the server again on the same port, with the same data
// directory, and waits until it has loaded its data.
func (s *redisServer) restart() {
	s.t.Helper()
	require.False(s.t, s.running(), "restart of a running redis-server")
	start := time.Now()
	require.NoError(s.t, s.launch())
	s.t.Logf("redis-server on port %d serving again after %s", s.port, time.Since(start).Round(time.Millisecond))
}

// env returns a test environment on this server with a queue and key prefix
// of its own.
func (s *redisServer) env() env {
	return env{Redis: &testredis.Redis{URL: s.URL, Client: s.Client}, queue: "faults", prefix: "bqfault"}
}

// info returns field of the server's INFO section.
func (s *redisServer) info(section, field string) string {
	s.t.Helper()
	out, err := s.Client.Info(context.Background(), section).Result()
	require.NoError(s.t, err)
	for line := range strings.SplitSeq(out, "\r\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return v
		}
	}
	require.Fail(s.t, "no INFO field", "%s in section %s", field, section)
	return ""
}
