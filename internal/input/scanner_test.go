package input_test

import (
	"bytes"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"

	"bitqueue/fixture"
	"bitqueue/internal/input"
)

// stream is what Scanner and every Stream have in common.
type stream interface{ Next() (uint64, error) }

// requireEOF checks that s is done, and stays done.
func requireEOF(t *testing.T, s stream) {
	t.Helper()
	for range 2 {
		n, err := s.Next()
		require.ErrorIs(t, err, io.EOF)
		require.Zero(t, n)
	}
}

// requireInputError checks that err is an *input.Error with these fields and
// returns it.
func requireInputError(t *testing.T, err error, source string, line int, token string) *input.Error {
	t.Helper()
	var ie *input.Error
	require.ErrorAs(t, err, &ie)
	require.Equal(t, source, ie.Source, "Source")
	require.Equal(t, line, ie.Line, "Line")
	require.Equal(t, token, ie.Token, "Token")
	require.NotEmpty(t, ie.Reason, "Reason")
	return ie
}

func TestScannerValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want []uint64
	}{
		{"empty", "", nil},
		{"only whitespace", " \t\r\n\v\f\n  ", nil},
		{"one", "1\n", []uint64{1}},
		{"zero", "0", []uint64{0}},
		{"no trailing newline", "1 2 3", []uint64{1, 2, 3}},
		{"spaces", "  1   2 3  ", []uint64{1, 2, 3}},
		{"tabs", "\t1\t\t2\t", []uint64{1, 2}},
		{"CRLF", "1\r\n2\r\n3\r\n", []uint64{1, 2, 3}},
		{"vertical tab and form feed", "1\v2\f3", []uint64{1, 2, 3}},
		{"multiple lines", "1 2\n3\n\n\n4 5 6\n", []uint64{1, 2, 3, 4, 5, 6}},
		{"leading zeros", "007 000 0000000000000000000000000000000000000000000000000000000000000042", []uint64{7, 0, 42}},
		{"2^63-1", "9223372036854775807", []uint64{math.MaxInt64}},
		{"2^63-1 with leading zeros", "0009223372036854775807\n", []uint64{math.MaxInt64}},
		{"powers of ten", "1 10 100 1000000000000000000", []uint64{1, 10, 100, 1e18}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, fixture.Drain(t, input.NewScanner(strings.NewReader(tt.in), "test")))
			// Reading a byte at a time, or with an error alongside the last
			// bytes, changes nothing.
			require.Equal(t, tt.want, fixture.Drain(t, input.NewScanner(iotest.OneByteReader(strings.NewReader(tt.in)), "test")))
			require.Equal(t, tt.want, fixture.Drain(t, input.NewScanner(iotest.DataErrReader(strings.NewReader(tt.in)), "test")))
		})
	}
}

func TestScannerEmptyInput(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"", "\n", "   \r\n\t"} {
		requireEOF(t, input.NewScanner(strings.NewReader(in), "empty"))
	}
}

func TestScannerInvalid(t *testing.T) {
	t.Parallel()
	const (
		notDecimal = "is not a decimal integer"
		minus      = "has a minus sign"
		tooBig     = "is above 2^63-1"
	)
	tests := []struct {
		name   string
		token  string
		reason string
	}{
		{"letters", "abc", notDecimal},
		{"plus sign", "+5", notDecimal},
		{"minus sign", "-5", minus},
		{"minus zero", "-0", minus},
		{"minus alone", "-", notDecimal},
		{"minus letters", "-x", notDecimal},
		{"double minus", "--5", notDecimal},
		{"exponent", "1e6", notDecimal},
		{"hex", "0x10", notDecimal},
		{"decimal point", "1.5", notDecimal},
		{"thousands separator", "1,000", notDecimal},
		{"underscore", "1_000", notDecimal},
		{"unicode digit", "٣", notDecimal},
		{"fullwidth digit", "５", notDecimal},
		{"NUL byte", "1\x002", notDecimal},
		{"2^63", "9223372036854775808", tooBig},
		{"2^64", "18446744073709551616", tooBig},
		{"20 nines", "99999999999999999999", tooBig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// The bad token sits on line 3, between good ones.
			in := "1\n\n  2 " + tt.token + " 3\r\n4"
			s := input.NewScanner(strings.NewReader(in), "nums.txt")
			n, err := s.Next()
			require.NoError(t, err)
			require.Equal(t, uint64(1), n)
			n, err = s.Next()
			require.NoError(t, err)
			require.Equal(t, uint64(2), n)

			n, err = s.Next()
			require.Zero(t, n)
			ie := requireInputError(t, err, "nums.txt", 3, tt.token)
			require.Contains(t, ie.Reason, tt.reason)
			require.Equal(t, "nums.txt:3: "+strconv.Quote(tt.token)+" "+ie.Reason, err.Error())

			// Scanning goes on after the bad token.
			require.Equal(t, []uint64{3, 4}, fixture.Drain(t, s))
		})
	}
}

func TestScannerInvalidLastToken(t *testing.T) {
	t.Parallel()
	s := input.NewScanner(strings.NewReader("1\n2\nx7"), "stdin")
	require.Equal(t, []uint64{1, 2}, []uint64{mustNext(t, s), mustNext(t, s)})
	_, err := s.Next()
	requireInputError(t, err, "stdin", 3, "x7")
	requireEOF(t, s)
}

func mustNext(t *testing.T, s stream) uint64 {
	t.Helper()
	n, err := s.Next()
	require.NoError(t, err)
	return n
}

func TestScannerLongToken(t *testing.T) {
	t.Parallel()
	const size = 10 << 20
	digits := bytes.Repeat([]byte("1234567890"), size/10)
	var in bytes.Buffer
	in.WriteString("1 2\n\n")
	in.Write(digits)
	in.WriteString("\n5\nx")

	s := input.NewScanner(&in, "big.txt")
	require.Equal(t, uint64(1), mustNext(t, s))
	require.Equal(t, uint64(2), mustNext(t, s))
	_, err := s.Next()
	ie := requireInputError(t, err, "big.txt", 3, string(digits[:64]))
	require.Contains(t, ie.Reason, "longer than 64 bytes")
	require.Less(t, len(err.Error()), 300, "the message does not hold the whole token")
	require.Equal(t, uint64(5), mustNext(t, s))
	// Lines are still counted after a long token.
	_, err = s.Next()
	requireInputError(t, err, "big.txt", 5, "x")
	requireEOF(t, s)
}

func TestScannerTokenLengthLimit(t *testing.T) {
	t.Parallel()
	// 64 bytes is the longest token kept whole; it may be a valid integer.
	ok := strings.Repeat("0", 63) + "9"
	cut := strings.Repeat("0", 64) + "9"
	s := input.NewScanner(strings.NewReader(ok+"\n"+cut), "src")
	require.Equal(t, uint64(9), mustNext(t, s))
	_, err := s.Next()
	ie := requireInputError(t, err, "src", 2, cut[:64])
	require.Contains(t, ie.Reason, "longer than 64 bytes")
	requireEOF(t, s)
}

func TestScannerReadError(t *testing.T) {
	t.Parallel()
	boom := errors.New("disk on fire")
	s := input.NewScanner(io.MultiReader(strings.NewReader("1 2 "), iotest.ErrReader(boom)), "in.txt")
	require.Equal(t, uint64(1), mustNext(t, s))
	require.Equal(t, uint64(2), mustNext(t, s))
	_, err := s.Next()
	require.ErrorIs(t, err, boom)
	require.Contains(t, err.Error(), "in.txt")
	var ie *input.Error
	require.False(t, errors.As(err, &ie), "a read error is not bad input")
}

func TestErrorMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  input.Error
		want string
	}{
		{"token", input.Error{Source: "a.txt", Line: 7, Token: "x", Reason: "is bad"}, `a.txt:7: "x" is bad`},
		{"whole source", input.Error{Source: "a.txt", Reason: "cannot be read"}, "a.txt: cannot be read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, tt.err.Error())
		})
	}
}

// fields splits in as the scanner does, returning each token and its line.
func fields(in []byte) (tokens []string, lines []int) {
	line := 1
	start := -1
	for i := 0; i <= len(in); i++ {
		space := i == len(in) || bytes.IndexByte([]byte(" \t\n\r\v\f"), in[i]) >= 0
		if space && start >= 0 {
			tokens = append(tokens, string(in[start:i]))
			start = -1
		}
		if !space && start < 0 {
			start = i
			lines = append(lines, line)
		}
		// A line ends with "\n", "\r\n" or a lone "\r".
		if i < len(in) && (in[i] == '\r' || in[i] == '\n' && (i == 0 || in[i-1] != '\r')) {
			line++
		}
	}
	return tokens, lines
}

func allDigits(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

func FuzzScanner(f *testing.F) {
	for _, s := range []string{
		"", "0", "1 2 3", "007\r\n42\n", "9223372036854775807", "9223372036854775808",
		"-0", "+5", "1e6", "0x10", "٣", "a\nb\n\nc", strings.Repeat("9", 65), "1\x002",
		"1\r2\rx\r", "1\r\n\rx", "1\n\rx",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		tokens, lines := fields(in)
		s := input.NewScanner(bytes.NewReader(in), "fuzz")
		for i, tok := range tokens {
			n, err := s.Next()
			require.NotErrorIs(t, err, io.EOF, "token %d of %d, %q", i, len(tokens), tok)
			want, perr := strconv.ParseUint(tok, 10, 64)
			valid := allDigits(tok) && len(tok) <= 64 && perr == nil && want <= math.MaxInt64
			if err != nil {
				require.False(t, valid, "token %q rejected: %v", tok, err)
				requireInputError(t, err, "fuzz", lines[i], tok[:min(len(tok), 64)])
				continue
			}
			require.True(t, valid, "token %q accepted as %d", tok, n)
			require.LessOrEqual(t, n, uint64(math.MaxInt64))
			require.Equal(t, want, n)
		}
		requireEOF(t, s)
	})
}

func BenchmarkScanner(b *testing.B) {
	const count = 1_000_000
	var in bytes.Buffer
	for i := range count {
		in.WriteString(strconv.FormatUint(uint64(i)*2654435761%(1<<40), 10))
		if i%10 == 9 {
			in.WriteByte('\n')
		} else {
			in.WriteByte(' ')
		}
	}
	data := in.Bytes()
	r := bytes.NewReader(data)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(data)
		s := input.NewScanner(r, "bench")
		got := 0
		for {
			if _, err := s.Next(); err != nil {
				if !errors.Is(err, io.EOF) {
					b.Fatal(err)
				}
				break
			}
			got++
		}
		if got != count {
			b.Fatalf("scanned %d integers, want %d", got, count)
		}
	}
	fixture.ReportInts(b, count)
}

// TestScannerLineEndings checks the line of a bad token whatever ends the
// lines before it: "\n", "\r\n" (one line break, even when a read splits
// it), or a lone "\r" as in old Mac files.
func TestScannerLineEndings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		line     int
	}{
		{"LF", "1\n2\nabc\n", 3},
		{"CRLF", "1\r\n2\r\nabc\r\n", 3},
		{"CR only", "1\r2\rabc\r", 3},
		{"CR only, blank lines", "\r\r1\rabc", 4},
		{"mixed", "1\r2\r\n3\nabc", 4},
		{"LF then CR is two", "1\n\rabc", 3},
		{"CR between tokens on a line", "1 \r 2\rabc", 3},
	}
	for _, tt := range tests {
		for _, split := range []bool{false, true} {
			name := tt.name
			var r io.Reader = strings.NewReader(tt.in)
			if split {
				name += ", one byte a read"
				r = iotest.OneByteReader(r)
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				s := input.NewScanner(r, "in")
				var err error
				for err == nil {
					_, err = s.Next()
				}
				requireInputError(t, err, "in", tt.line, "abc")
			})
		}
	}
}

// Every file of the e2e bad-input corpus is refused by the scanner with the
// message its .want file gives (or holds no integer at all, which the
// producer refuses), and seeds FuzzScanner.
func TestBadInputCorpus(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(fixture.E2ETestdata(t, "badinput"), "*.txt"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(f)
			require.NoError(t, err)
			want, err := os.ReadFile(strings.TrimSuffix(f, ".txt") + ".want")
			require.NoError(t, err)
			s := input.NewScanner(bytes.NewReader(in), name)
			for {
				_, err = s.Next()
				if err != nil {
					break
				}
			}
			if strings.HasSuffix(strings.TrimSpace(string(want)), "holds no integers") {
				require.ErrorIs(t, err, io.EOF)
			} else {
				var bad *input.Error
				require.True(t, errors.As(err, &bad), "error %v", err)
				require.True(t, strings.HasPrefix(err.Error(), strings.TrimSpace(string(want))), "message\n  %s\nwant it to start with\n  %s", err, want)
			}

			fixture.CheckSeed(t, "FuzzScanner", "badinput-"+strings.TrimSuffix(name, ".txt"), in)
		})
	}
}
