package health

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Server serves a process's operational endpoints (health, readiness,
// metrics) on a listener, in a goroutine, until Stop.
type Server struct {
	srv  *http.Server
	addr net.Addr
	done chan error // receives Serve's result once it returns
}

// Serve serves h on ln until Stop and logs, at info, the address it listens
// on and the paths it serves; errors of the HTTP server are logged at warn.
// It returns at once: the endpoints answer as soon as it has.
func Serve(ln net.Listener, h http.Handler, paths string, log *slog.Logger) *Server {
	s := &Server{
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 5 * time.Second,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		},
		addr: ln.Addr(),
		done: make(chan error, 1),
	}
	go func() { s.done <- s.srv.Serve(ln) }()
	log.Info("http listening", "addr", s.Addr().String(), "paths", paths)
	return s
}

// Addr returns the address the server listens on.
func (s *Server) Addr() net.Addr { return s.addr }

// Stop shuts the server down gracefully, waiting at most timeout for
// requests in progress, and returns any error it met while serving.
func (s *Server) Stop(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if err != nil {
		_ = s.srv.Close()
	}
	if serr := <-s.done; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}
