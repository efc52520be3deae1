package redistest

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// NewLatencyProxy is NewProxy that adds rtt to every round trip through it,
// as a network between distant hosts does: whatever it reads from one side
// it writes to the other rtt/2 after reading it, in each direction. The
// delay costs no bandwidth and does not serialise round trips: a reader per
// direction stamps each chunk as it arrives and goes on reading, and one
// delay line for the whole proxy releases every chunk at its stamp plus
// rtt/2 to the writer of its direction. Go's timers fire up to a
// millisecond late when the process is idle, so the line sleeps with
// nanosleep(2) where it has it, and wakes early by what waking has cost it
// lately (the kernel's timer slack, about 50 µs, and the scheduling of a
// goroutine; at most MaxEarly), so that chunks are released on time on
// average. With rtt 0 the chunks take the same path without waiting, which
// isolates the proxy's own cost.
func NewLatencyProxy(target string, rtt time.Duration) (*Proxy, error) {
	l := newDelayLine()
	l.set(rtt)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		l.stop()
		return nil, err
	}
	p := &Proxy{target: target, addr: ln.Addr().String(), conns: map[net.Conn]struct{}{}, line: l}
	p.cond = sync.NewCond(&p.mu)
	p.serve(ln)
	return p, nil
}

// SetLatency changes the round-trip time a proxy made by NewLatencyProxy
// adds, for what it reads from now on; on another proxy it does nothing.
func (p *Proxy) SetLatency(rtt time.Duration) {
	if p.line != nil {
		p.line.set(rtt)
	}
}

// chunk is what one read of a direction returned, due at its stamp plus the
// one-way delay; the last chunk of a direction is marked end.
type chunk struct {
	due  time.Time
	data []byte
	end  bool // the reader stopped; eof: because the other side closed
	eof  bool
	dir  *direction
}

// direction is one way of a connection through the delay line: the line
// hands its chunks to out, unless the writer has gone.
type direction struct {
	out  chan chunk
	gone chan struct{}
}

// delayLine holds every chunk of a proxy until it is due. The delay is the
// same for every chunk, so the order chunks arrive in is the order they are
// due in, and one FIFO queue (a channel) served by one goroutine does.
type delayLine struct {
	in     chan chunk
	oneWay atomic.Int64 // nanoseconds
	quit   chan struct{}
	done   chan struct{}
}

func newDelayLine() *delayLine {
	l := &delayLine{in: make(chan chunk, 4096), quit: make(chan struct{}), done: make(chan struct{})}
	go l.run()
	return l
}

func (l *delayLine) set(rtt time.Duration) { l.oneWay.Store(int64(rtt / 2)) }

func (l *delayLine) stamp() time.Time {
	return time.Now().Add(time.Duration(l.oneWay.Load()))
}

func (l *delayLine) run() {
	defer close(l.done)
	var late time.Duration // how much earlier than due the line wakes
	for {
		select {
		case c := <-l.in:
			if time.Until(c.due) > early {
				// Wake early by what waking has cost lately, and learn
				// from how late (or early) this release turns out.
				sleepUntil(c.due.Add(-late))
				late += time.Since(c.due) / 8
				late = min(max(late, 0), MaxEarly)
			}
			select {
			case c.dir.out <- c:
			case <-c.dir.gone:
			}
		case <-l.quit:
			return
		}
	}
}

// stop ends the line once no connection uses it.
func (l *delayLine) stop() {
	close(l.quit)
	<-l.done
}

// MaxEarly bounds how much earlier than due the delay line of a latency
// proxy wakes, to make up for the time waking takes: a chunk is released at
// most this much before its time.
const MaxEarly = 500 * time.Microsecond

// early is how much before its time a chunk may be released rather than
// slept for: less than a sleep's own cost.
const early = 10 * time.Microsecond

// sleepUntil returns at t: by Go's timer for all but the last two
// milliseconds, then by a sleep of the thread (sleep_*.go).
func sleepUntil(t time.Time) {
	d := time.Until(t)
	if d > 2*time.Millisecond {
		time.Sleep(d - 2*time.Millisecond)
		d = time.Until(t)
	}
	if d > early {
		preciseSleep(d)
	}
}

// pumpDelayed copies from src to dst through the delay line, holding each
// chunk while the proxy hangs; it returns once the last chunk is written
// (closing dst for writing when src ended with EOF) or a write fails.
func (p *Proxy) pumpDelayed(dst, src net.Conn) {
	d := &direction{out: make(chan chunk, 256), gone: make(chan struct{})}
	defer close(d.gone)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				p.line.in <- chunk{due: p.line.stamp(), data: append([]byte(nil), buf[:n]...), dir: d}
			}
			if err != nil {
				p.line.in <- chunk{due: p.line.stamp(), end: true, eof: errors.Is(err, io.EOF), dir: d}
				return
			}
		}
	}()
	for c := range d.out {
		if c.end {
			if tc, ok := dst.(*net.TCPConn); ok && c.eof {
				_ = tc.CloseWrite()
			}
			return
		}
		if !p.waitOpen() {
			return
		}
		if _, err := dst.Write(c.data); err != nil {
			return
		}
	}
}
