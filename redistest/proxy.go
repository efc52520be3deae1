package redistest

import (
	"errors"
	"io"
	"net"
	"sync"
)

// Proxy is a TCP proxy on loopback in front of a Redis that simulates an
// outage on command, in-process: Down refuses connections as a stopped
// server does, Hang accepts and forwards nothing as a stuck server or a
// network dropping packets does, Drop cuts the open connections as a
// restart does, and Up serves again. Clients connect to Addr. A proxy made
// by NewLatencyProxy also delays what it forwards (see delay.go).
type Proxy struct {
	target string
	addr   string
	line   *delayLine // nil: forward at once

	open, peak int // client connections open now, and at most so far

	mu     sync.Mutex
	cond   *sync.Cond // signalled when hung changes or the proxy closes
	ln     net.Listener
	hung   bool
	closed bool
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

// NewProxy listens on a free loopback port and forwards each connection to
// target (host:port). Close stops it.
func NewProxy(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{target: target, addr: ln.Addr().String(), conns: map[net.Conn]struct{}{}}
	p.cond = sync.NewCond(&p.mu)
	p.serve(ln)
	return p, nil
}

// Peak returns the most client connections the proxy has had open at once.
func (p *Proxy) Peak() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.peak
}

// Addr returns the address clients connect to; it stays the same across
// Down and Up.
func (p *Proxy) Addr() string { return p.addr }

func (p *Proxy) serve(ln net.Listener) {
	p.ln = ln
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				p.handle(c)
			}()
		}
	}()
}

// handle forwards one client connection until either side closes it.
func (p *Proxy) handle(client net.Conn) {
	if !p.track(client) {
		client.Close()
		return
	}
	defer p.untrack(client)
	p.mu.Lock()
	p.open++
	p.peak = max(p.peak, p.open)
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.open--
		p.mu.Unlock()
	}()
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	if !p.track(server) {
		server.Close()
		return
	}
	defer p.untrack(server)
	pump := p.pump
	if p.line != nil {
		pump = p.pumpDelayed
	}
	done := make(chan struct{}, 2)
	go func() { pump(server, client); done <- struct{}{} }()
	go func() { pump(client, server); done <- struct{}{} }()
	<-done
	client.Close()
	server.Close()
	<-done
}

// pump copies from src to dst, holding each chunk while the proxy hangs.
func (p *Proxy) pump(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.waitOpen() {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				if tc, ok := dst.(*net.TCPConn); ok {
					_ = tc.CloseWrite()
				}
			}
			return
		}
	}
}

// waitOpen blocks while the proxy hangs; it reports false once it closed.
func (p *Proxy) waitOpen() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.hung && !p.closed {
		p.cond.Wait()
	}
	return !p.closed
}

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

// dropLocked closes every open connection; p.mu is held.
func (p *Proxy) dropLocked() {
	for c := range p.conns {
		c.Close()
	}
}

// Down stops listening, so that new connections are refused, and closes
// the open ones: what clients see when Redis stops.
func (p *Proxy) Down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	p.dropLocked()
}

// Drop closes the open connections once and keeps serving new ones: what
// clients see when Redis restarts quickly or a connection is reset.
func (p *Proxy) Drop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dropLocked()
}

// Hang keeps connections open and accepts new ones, but forwards nothing
// until Up: commands time out, as with a stuck Redis.
func (p *Proxy) Hang() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hung = true
}

// Up ends a Down or a Hang: the proxy listens again on the same address
// and forwards what it holds.
func (p *Proxy) Up() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hung = false
	p.cond.Broadcast()
	if p.ln != nil || p.closed {
		return nil
	}
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		return err
	}
	p.serve(ln)
	return nil
}

// Close stops the proxy, closes every connection and waits for its
// goroutines to end.
func (p *Proxy) Close() {
	p.mu.Lock()
	p.closed = true
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	p.dropLocked()
	p.cond.Broadcast()
	p.mu.Unlock()
	p.wg.Wait()
	if p.line != nil {
		p.line.stop()
	}
}
