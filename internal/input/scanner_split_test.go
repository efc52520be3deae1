package input_test

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/input"
)

// However the reader splits its bytes, the scanner reports the same integers
// and the same error, with the same token and line.
func TestScannerSplitReads(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"1 22 333\n4444",
		"1\n2\n-3",
		"5\r\n" + strings.Repeat("7", 200) + " 1",
		"9223372036854775807 9223372036854775808",
		"12 1e6\n",
		"0 0x10",
	} {
		whole := scanAll(input.NewScanner(strings.NewReader(in), "in"))
		for name, r := range map[string]io.Reader{
			"one byte": iotest.OneByteReader(strings.NewReader(in)),
			"halves":   iotest.HalfReader(strings.NewReader(in)),
			"data+err": iotest.DataErrReader(strings.NewReader(in)),
		} {
			require.Equal(t, whole, scanAll(input.NewScanner(r, "in")), "%s reads of %q", name, in)
		}
	}
}

type scanned struct {
	nums []uint64
	err  input.Error
}

func scanAll(s *input.Scanner) scanned {
	var out scanned
	for {
		n, err := s.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		var bad *input.Error
		if errors.As(err, &bad) {
			out.err = *bad
			return out
		}
		if err != nil {
			panic(err)
		}
		out.nums = append(out.nums, n)
	}
}
