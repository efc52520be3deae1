package redistest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// StartTimeout bounds how long a server may take to serve after it starts
// (or restarts and loads its data).
const StartTimeout = 30 * time.Second

// Options configure one redis-server.
type Options struct {
	// Password is the default user's password (requirepass), also used to
	// check that the server answers.
	Password string
	// Users are ACL rules applied with ACL SETUSER once the server serves
	// (and again after each restart), one user a rule, such as
	// "alice on >secret ~bq:* &* +@all".
	Users []string
	// TLS, when set, makes the server speak TLS only, with its certificate.
	TLS *Certs
	// Cluster starts the server in cluster mode; its bus port (port+10000)
	// is free too.
	Cluster bool
	// SentinelConf, when set, runs a sentinel with these configuration
	// lines (such as "sentinel monitor mymaster 127.0.0.1 6379 1").
	SentinelConf []string
	// MaxMemory, when set, is the maxmemory setting (such as "4mb"), with
	// the noeviction policy: writes fail with OOM once it is reached.
	MaxMemory string
	// Args are extra redis-server arguments, such as "--appendonly", "yes".
	Args []string
	// Port is the port to listen on; 0 picks a free one.
	Port int
	// Dir is the data directory; empty makes a temporary one, removed by
	// Close.
	Dir string
	// Binary is the redis-server to run, a path or a name looked up in
	// PATH; empty: "redis-server".
	Binary string
}

// Server is a redis-server process on loopback that one caller owns: it may
// stop, kill, pause, restart or fill it without disturbing anyone else.
type Server struct {
	Addr string // 127.0.0.1:port
	Port int
	Dir  string // the data directory, kept across restarts

	opts   Options
	bin    string
	ownDir bool
	proc   *Process
	logs   *LogBuffer // every run's output, restarts included
	filled int        // keys Fill wrote, so that each call writes new ones
}

// NewServer starts a redis-server with opts on a loopback port and waits until
// it serves. With Port 0 it retries on another port when the one it picked
// was taken meanwhile. Close stops it.
func NewServer(opts Options) (*Server, error) {
	binary := cmp.Or(opts.Binary, "redis-server")
	bin, err := exec.LookPath(binary)
	if err != nil {
		return nil, fmt.Errorf("%s is not installed (Debian: apt-get install redis-server): %w", binary, err)
	}
	s := &Server{Dir: opts.Dir, opts: opts, bin: bin, logs: &LogBuffer{}}
	if s.Dir == "" {
		if s.Dir, err = os.MkdirTemp("", "redistest-"); err != nil {
			return nil, err
		}
		s.ownDir = true
	}
	var lastErr error
	for range 5 {
		s.Port = opts.Port
		if s.Port == 0 {
			if s.Port, err = FreePort(opts.Cluster); err != nil {
				s.Close()
				return nil, err
			}
		}
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port))
		if lastErr = s.launch(); lastErr == nil {
			return s, nil
		}
		if opts.Port != 0 {
			break
		}
	}
	s.Close()
	return nil, fmt.Errorf("start redis-server: %w", lastErr)
}

// args returns the command line of the server.
func (s *Server) args() ([]string, error) {
	o := s.opts
	var args []string
	if o.SentinelConf != nil {
		conf := filepath.Join(s.Dir, "sentinel.conf")
		if err := os.WriteFile(conf, []byte(strings.Join(o.SentinelConf, "\n")+"\n"), 0o600); err != nil {
			return nil, err
		}
		args = append(args, conf, "--sentinel")
	}
	args = append(args, "--bind", "127.0.0.1", "--dir", s.Dir, "--save", "", "--daemonize", "no", "--logfile", "")
	if o.TLS != nil {
		args = append(args, "--port", "0", "--tls-port", strconv.Itoa(s.Port),
			"--tls-cert-file", o.TLS.ServerCert, "--tls-key-file", o.TLS.ServerKey,
			"--tls-ca-cert-file", o.TLS.CA, "--tls-auth-clients", "no")
	} else {
		args = append(args, "--port", strconv.Itoa(s.Port))
	}
	if o.Password != "" {
		args = append(args, "--requirepass", o.Password)
	}
	if o.Cluster {
		args = append(args, "--cluster-enabled", "yes", "--cluster-config-file", filepath.Join(s.Dir, "nodes.conf"), "--cluster-node-timeout", "2000")
	}
	if o.MaxMemory != "" {
		args = append(args, "--maxmemory", o.MaxMemory, "--maxmemory-policy", "noeviction")
	}
	if o.SentinelConf == nil {
		args = append(args, "--appendonly", "no")
	}
	return append(args, o.Args...), nil
}

// launch starts the process on s.Port and waits until it serves.
func (s *Server) launch() error {
	args, err := s.args()
	if err != nil {
		return err
	}
	cmd := exec.Command(s.bin, args...)
	cmd.Stdout, cmd.Stderr = s.logs, s.logs
	if s.proc, err = StartProcess(cmd); err != nil {
		return err
	}
	if err := s.waitReady(); err != nil {
		s.proc.Kill()
		return fmt.Errorf("%s: %w; logs:\n%s", s.Addr, err, s.logs.Tail(20))
	}
	return s.applyUsers()
}

// waitReady asks the server until it serves commands, having loaded its
// data (EXISTS fails with LOADING until then; a sentinel, or a cluster node
// before it has slots, answers PING), it exits, or StartTimeout passes.
func (s *Server) waitReady() error {
	c := s.Client()
	defer c.Close()
	deadline := time.Now().Add(StartTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		var err error
		if s.opts.SentinelConf != nil || s.opts.Cluster {
			err = c.Ping(ctx).Err()
		} else {
			err = c.Exists(ctx, "redistest-probe").Err()
		}
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not serving within %s: %w", StartTimeout, err)
		}
		select {
		case <-s.proc.Done():
			return errors.New("exited at start")
		case <-time.After(PollInterval):
		}
	}
}

func (s *Server) applyUsers() error {
	if len(s.opts.Users) == 0 {
		return nil
	}
	c := s.Client()
	defer c.Close()
	for _, rule := range s.opts.Users {
		fields := strings.Fields(rule)
		args := []any{"ACL", "SETUSER"}
		for _, f := range fields {
			args = append(args, f)
		}
		if err := c.Do(context.Background(), args...).Err(); err != nil {
			return fmt.Errorf("ACL SETUSER %s: %w", fields[0], err)
		}
	}
	return nil
}

// URL returns the server's URL for database 0 (rediss:// with TLS), with the
// default user's password when it has one.
func (s *Server) URL() string {
	scheme := "redis"
	if s.opts.TLS != nil {
		scheme = "rediss"
	}
	auth := ""
	if s.opts.Password != "" {
		auth = ":" + s.opts.Password + "@"
	}
	return scheme + "://" + auth + s.Addr + "/0"
}

// Client returns a new client of the server, as its default user; it
// retries no command and dials with a short timeout. The caller closes it.
func (s *Server) Client() *redis.Client {
	opt := &redis.Options{Addr: s.Addr, Password: s.opts.Password, MaxRetries: -1, DialTimeout: 2 * time.Second}
	if s.opts.TLS != nil {
		opt.TLSConfig = s.opts.TLS.ClientConfig()
	}
	return redis.NewClient(opt)
}

// Running reports whether the server process runs (it may be paused).
func (s *Server) Running() bool { return s.proc != nil && !s.proc.Exited() }

// Stop sends sig (SIGTERM: save and exit; SIGKILL: die at once) and waits
// for the process to exit.
func (s *Server) Stop(sig syscall.Signal) error {
	if _, err := s.proc.Stop(sig, StartTimeout); err != nil {
		return fmt.Errorf("redis-server %s: %w", s.Addr, err)
	}
	return nil
}

// Kill stops the server with SIGKILL and waits for it to exit. It is safe to
// call more than once.
func (s *Server) Kill() {
	if s.proc != nil {
		_ = s.proc.SignalGroup(syscall.SIGCONT) // a paused server dies as well
		s.proc.Kill()
	}
}

// Pause stops the server with SIGSTOP: connections stay open and nothing
// answers, as with a server stuck or a network that drops packets.
func (s *Server) Pause() error { return s.proc.SignalGroup(syscall.SIGSTOP) }

// Resume lets a paused server run again (SIGCONT).
func (s *Server) Resume() error { return s.proc.SignalGroup(syscall.SIGCONT) }

// Restart starts the stopped server again on the same port with the same
// data directory and waits until it has loaded its data.
func (s *Server) Restart() error {
	if s.Running() {
		return fmt.Errorf("restart of redis-server %s, which still runs", s.Addr)
	}
	return s.launch()
}

// Close kills the server and removes the data directory it made.
func (s *Server) Close() {
	s.Kill()
	if s.ownDir {
		_ = os.RemoveAll(s.Dir)
	}
}

// Logs returns what the server has logged so far, over all its runs.
func (s *Server) Logs() string { return s.logs.String() }

// LogTail returns the last n lines the server logged.
func (s *Server) LogTail(n int) string { return s.logs.Tail(n) }

// Info returns field of the server's INFO section.
func (s *Server) Info(ctx context.Context, section, field string) (string, error) {
	c := s.Client()
	defer c.Close()
	out, err := c.Info(ctx, section).Result()
	if err != nil {
		return "", err
	}
	for line := range strings.SplitSeq(out, "\r\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return v, nil
		}
	}
	return "", fmt.Errorf("INFO %s has no field %s", section, field)
}

// FreePort returns a loopback TCP port nothing listens on right now; with
// bus, port+10000 is free too (a cluster node's bus port).
func FreePort(bus bool) (int, error) {
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
