// Package input reads the integers a run converts: decimal integers from a
// file or stdin, or reproducible random ones.
package input

import (
	"bufio"
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
	r      *bufio.Reader
	source string
	line   int
	tok    []byte
	long   bool
}

// NewScanner returns a Scanner reading r, naming it source in errors.
func NewScanner(r io.Reader, source string) *Scanner {
	return &Scanner{r: bufio.NewReaderSize(r, 1<<16), source: source, line: 1, tok: make([]byte, 0, maxToken)}
}

// Next returns the next integer, io.EOF after the last one, or an *Error for
// a token that is not a decimal integer in range.
func (s *Scanner) Next() (uint64, error) {
	s.tok, s.long = s.tok[:0], false
	line := s.line
	for {
		c, err := s.r.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) && len(s.tok) > 0 {
				return s.parse(line)
			}
			if errors.Is(err, io.EOF) {
				return 0, io.EOF
			}
			return 0, fmt.Errorf("%s: %w", s.source, err)
		}
		if isSpace(c) {
			if c == '\n' {
				s.line++
			}
			if len(s.tok) > 0 {
				return s.parse(line)
			}
			line = s.line
			continue
		}
		if len(s.tok) < maxToken {
			s.tok = append(s.tok, c)
		} else {
			s.long = true
		}
	}
}

func (s *Scanner) parse(line int) (uint64, error) {
	bad := func(reason string) (uint64, error) {
		return 0, &Error{Source: s.source, Line: line, Token: string(s.tok), Reason: reason}
	}
	if s.long {
		return bad(fmt.Sprintf("is longer than %d bytes (cut here); want a decimal integer in [0, 2^63-1]", maxToken))
	}
	if s.tok[0] == '-' && isDigits(s.tok[1:]) {
		return bad("has a minus sign; want a non-negative decimal integer in [0, 2^63-1]")
	}
	if !isDigits(s.tok) {
		return bad("is not a decimal integer (digits 0-9 only, no sign, no exponent)")
	}
	var n uint64
	for _, c := range s.tok {
		d := uint64(c - '0')
		if n > (math.MaxInt64-d)/10 {
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
