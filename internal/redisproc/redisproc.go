// Package redisproc starts real redis-server processes on loopback for tests:
// a server with a password or ACL users, a TLS-only server, a master with a
// replica and a sentinel, or a cluster. Each keeps its data in a temporary
// directory, saves nothing to disk and is killed when the test ends.
//
// redis-server (Redis 7, as Debian ships it: TLS, sentinel and cluster built
// in) must be on PATH; a test fails, naming what is missing, when it is not.
package redisproc

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// startTimeout bounds how long a server may take to answer after it starts.
const startTimeout = 30 * time.Second

// Options configure one redis-server.
type Options struct {
	// Password is the default user's password (requirepass), also used to
	// check that the server answers.
	Password string
	// TLS, when set, makes the server speak TLS only, with its certificate.
	TLS *Certs
	// Cluster starts the server in cluster mode; its bus port (port+10000)
	// is free too.
	Cluster bool
	// SentinelConf, when set, runs a sentinel with these configuration
	// lines (such as "sentinel monitor mymaster 127.0.0.1 6379 1").
	SentinelConf []string
	// Args are extra redis-server arguments, such as "--replicaof".
	Args []string
}

// Server is a running redis-server.
type Server struct {
	Addr string // 127.0.0.1:port
	Port int
	Dir  string
	opts Options
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan struct{} // closed when the process has exited
}

// Start starts a redis-server with opts on a free loopback port, waits until
// it answers PING, and kills it when t ends. It retries with another port
// when the one it picked was taken meanwhile.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	require.NoError(t, err, "redis-server is not installed (Debian: apt-get install redis-server); the test needs a real Redis")
	var lastErr error
	for range 5 {
		s, err := start(t, bin, opts)
		if err == nil {
			return s
		}
		lastErr = err
	}
	t.Fatalf("start redis-server: %v", lastErr)
	return nil
}

func start(t testing.TB, bin string, opts Options) (*Server, error) {
	t.Helper()
	port, err := freePort(opts.Cluster)
	if err != nil {
		return nil, err
	}
	s := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Port: port, Dir: t.TempDir(), opts: opts, logs: &syncBuffer{}, done: make(chan struct{})}
	var args []string
	if opts.SentinelConf != nil {
		conf := filepath.Join(s.Dir, "sentinel.conf")
		if err := os.WriteFile(conf, []byte(strings.Join(opts.SentinelConf, "\n")+"\n"), 0o600); err != nil {
			return nil, err
		}
		args = append(args, conf, "--sentinel")
	}
	args = append(args, "--bind", "127.0.0.1", "--dir", s.Dir, "--save", "", "--appendonly", "no", "--logfile", "")
	if opts.TLS != nil {
		args = append(args, "--port", "0", "--tls-port", strconv.Itoa(port),
			"--tls-cert-file", opts.TLS.ServerCert, "--tls-key-file", opts.TLS.ServerKey,
			"--tls-ca-cert-file", opts.TLS.CA, "--tls-auth-clients", "no")
	} else {
		args = append(args, "--port", strconv.Itoa(port))
	}
	if opts.Password != "" {
		args = append(args, "--requirepass", opts.Password)
	}
	if opts.Cluster {
		args = append(args, "--cluster-enabled", "yes", "--cluster-config-file", filepath.Join(s.Dir, "nodes.conf"), "--cluster-node-timeout", "2000")
	}
	args = append(args, opts.Args...)
	s.cmd = exec.Command(bin, args...)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		_ = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		s.Kill()
		if t.Failed() {
			t.Logf("redis-server %s logs (last lines):\n%s", s.Addr, tail(s.logs.String(), 40))
		}
	})
	if err := s.waitReady(); err != nil {
		s.Kill()
		return nil, fmt.Errorf("%s: %w; logs:\n%s", s.Addr, err, tail(s.logs.String(), 20))
	}
	return s, nil
}

// waitReady pings the server until it answers, it exits, or startTimeout.
func (s *Server) waitReady() error {
	c := s.Client()
	defer c.Close()
	deadline := time.Now().Add(startTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("did not answer within %s: %v", startTimeout, err)
		}
		select {
		case <-s.done:
			return errors.New("exited at start")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Client returns a new client of the server, as its default user. The caller
// closes it.
func (s *Server) Client() *redis.Client {
	opt := &redis.Options{Addr: s.Addr, Password: s.opts.Password, MaxRetries: -1, DialTimeout: 2 * time.Second}
	if s.opts.TLS != nil {
		opt.TLSConfig = s.opts.TLS.ClientConfig()
	}
	return redis.NewClient(opt)
}

// ClientT returns a client of the server that is closed when t ends.
func (s *Server) ClientT(t testing.TB) *redis.Client {
	t.Helper()
	c := s.Client()
	t.Cleanup(func() { c.Close() })
	return c
}

// Kill stops the server with SIGKILL and waits for it to exit. It is safe to
// call more than once.
func (s *Server) Kill() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
}

// Logs returns what the server has logged so far.
func (s *Server) Logs() string { return s.logs.String() }

// freePort returns a loopback TCP port nothing listens on; with bus, port+10000
// is free too (a cluster node's bus port).
func freePort(bus bool) (int, error) {
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !bus {
			return port, nil
		}
		if port+10000 > 65535 {
			continue
		}
		b, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port+10000)))
		if err != nil {
			continue
		}
		b.Close()
		return port, nil
	}
	return 0, errors.New("no free port pair for a cluster node")
}

func tail(s string, lines int) string {
	parts := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(parts[max(0, len(parts)-lines):], "\n")
}

// syncBuffer is a bytes.Buffer safe for a process to write while a test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// clientTLS is the TLS configuration of a client trusting only certs' CA.
func clientTLS(c *Certs, serverName string) *tls.Config {
	return &tls.Config{RootCAs: c.pool, ServerName: serverName, MinVersion: tls.VersionTLS12}
}
