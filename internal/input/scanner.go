// Package input reads the integers a run converts: decimal integers from a
// file or stdin, or reproducible random ones.
package input

import (
	"errors"
	"fmt"
	"io"
	"math"
)

// maxToken bounds how much of one token is kept: longer tokens are rejected
// without being held in memory whole.
const maxToken = 64

// Error is bad input: the offending token and where it was found.
type Error struct {
	Source string // file name, "stdin" or "random"
	Line   int    // 1-based; 0 when the error is not about one token
	Token  string // the token, cut to its first 64 bytes
	Reason string
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.Source, e.Reason)
	}
	return fmt.Sprintf("%s:%d: %q %s", e.Source, e.Line, e.Token, e.Reason)
}

// Scanner reads whitespace-separated decimal integers in [0, 2^63-1] from a
// stream, holding only one token in memory at a time.
type Scanner struct {
	r      io.Reader
	source string
	buf    []byte
	pos    int   // next unread byte of buf
	end    int   // buf[pos:end] is unread
	err    error // from r, returned once buf is drained
	line   int
	cr     bool   // the last byte skipped was '\r': a '\n' next ends no new line
	tok    []byte // a token that straddles two reads of r
	long   bool
}

// NewScanner returns a Scanner reading r, naming it source in errors.
func NewScanner(r io.Reader, source string) *Scanner {
	return &Scanner{r: r, source: source, buf: make([]byte, 1<<16), line: 1, tok: make([]byte, 0, maxToken)}
}

// fill reads more of r into buf once buf is drained; it reports false when
// nothing more will come.
func (s *Scanner) fill() bool {
	for s.err == nil {
		n, err := s.r.Read(s.buf)
		s.pos, s.end, s.err = 0, n, err
		if n > 0 {
			return true
		}
	}
	return false
}

// Next returns the next integer, io.EOF after the last one, or an *Error for
// a token that is not a decimal integer in range.
func (s *Scanner) Next() (uint64, error) {
	// Skip whitespace, counting lines: a line ends with "\n", "\r\n" or a
	// lone "\r" (old Mac files), even when a read splits "\r\n".
	for {
		for s.pos < s.end && isSpace(s.buf[s.pos]) {
			switch s.buf[s.pos] {
			case '\n':
				if !s.cr {
					s.line++
				}
				s.cr = false
			case '\r':
				s.line++
				s.cr = true
			default:
				s.cr = false
			}
			s.pos++
		}
		if s.pos < s.end {
			s.cr = false // a token follows
			break
		}
		if !s.fill() {
			return 0, s.endErr()
		}
	}
	// The token, parsed in place when it ends inside buf.
	start := s.pos
	for s.pos < s.end && !isSpace(s.buf[s.pos]) {
		s.pos++
	}
	if s.pos < s.end || s.err != nil {
		return s.parse(s.buf[start:s.pos], s.line)
	}
	s.tok, s.long = append(s.tok[:0], s.buf[start:s.pos]...), false
	ended := false // by whitespace, not by the end of the stream
	for !ended && s.fill() {
		start = s.pos
		for s.pos < s.end && !isSpace(s.buf[s.pos]) {
			s.pos++
		}
		if room := maxToken - len(s.tok); s.pos-start > room {
			s.tok, s.long = append(s.tok, s.buf[start:start+max(room, 0)]...), true
		} else {
			s.tok = append(s.tok, s.buf[start:s.pos]...)
		}
		ended = s.pos < s.end
	}
	if err := s.endErr(); !ended && err != io.EOF {
		return 0, err
	}
	return s.parse(s.tok, s.line)
}

// endErr is io.EOF at the end of the stream, or the read error that ended it.
func (s *Scanner) endErr() error {
	if s.err == nil || errors.Is(s.err, io.EOF) {
		return io.EOF
	}
	return fmt.Errorf("%s: %w", s.source, s.err)
}

func (s *Scanner) parse(tok []byte, line int) (uint64, error) {
	long := s.long || len(tok) > maxToken
	s.long = false
	if len(tok) > maxToken {
		tok = tok[:maxToken]
	}
	bad := func(reason string) (uint64, error) {
		return 0, &Error{Source: s.source, Line: line, Token: string(tok), Reason: reason}
	}
	if long {
		return bad(fmt.Sprintf("is longer than %d bytes (cut here); want a decimal integer in [0, 2^63-1]", maxToken))
	}
	var n uint64
	for _, c := range tok {
		d := uint64(c - '0')
		if d > 9 {
			if tok[0] == '-' && isDigits(tok[1:]) {
				return bad("has a minus sign; want a non-negative decimal integer in [0, 2^63-1]")
			}
			return bad("is not a decimal integer (digits 0-9 only, no sign, no exponent)")
		}
		if n > (math.MaxInt64-d)/10 {
			if !isDigits(tok) {
				return bad("is not a decimal integer (digits 0-9 only, no sign, no exponent)")
			}
			return bad("is above 2^63-1 = 9223372036854775807")
		}
		n = n*10 + d
	}
	return n, nil
}

func isDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}
