package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestProducerRejectsBadInput(t *testing.T) {
	t.Parallel()
	e := setup(t)
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
		return p
	}
	for _, tc := range []struct {
		name    string
		args    []string
		stdin   string
		message []string // each must appear in stderr
	}{
		{"word", []string{"-input", file("word", "1 2\n3 four 5\n")}, "", []string{"word:2:", `"four"`, "not a decimal integer"}},
		{"negative", []string{"-input", file("neg", "1\n\n-7\n")}, "", []string{"neg:3:", `"-7"`, "minus sign"}},
		{"too large", []string{"-input", file("big", "9223372036854775808\n")}, "", []string{"big:1:", `"9223372036854775808"`, "above 2^63-1"}},
		{"plus sign", []string{"-input", file("plus", "+5")}, "", []string{"plus:1:", `"+5"`}},
		{"exponent", []string{"-input", file("exp", "1e6")}, "", []string{"exp:1:", `"1e6"`}},
		{"stdin", []string{"-input", "-"}, "1\n2\n0x10\n", []string{"stdin:3:", `"0x10"`}},
		{"empty", []string{"-input", file("empty", " \n\t\r\n")}, "", []string{"empty: holds no integers"}},
		{"missing file", []string{"-input", filepath.Join(dir, "nope")}, "", []string{"nope: cannot be read", "no such file"}},
		{"directory", []string{"-input", dir}, "", []string{"is a directory"}},
		{"both modes", []string{"-input", "x", "-count", "5"}, "", []string{"exactly one of --count N and --input FILE"}},
		{"neither mode", nil, "", []string{"exactly one of --count N and --input FILE"}},
		{"batch size", []string{"-count", "5", "-batch-size", "100001"}, "", []string{"--batch-size 100001 out of range [1, 100000]"}},
		{"unknown flag", []string{"-count", "5", "-frobnicate"}, "", []string{"frobnicate"}},
		{"out without wait", []string{"-count", "5", "-out", "-"}, "", []string{`--out "-" needs --wait`}},
		{"bad run id", []string{"-count", "5", "-run-id", "a:b"}, "", []string{"-run-id", `':'`}},
		{"bad redis url", []string{"-count", "5", "-redis", "http://x"}, "", []string{`scheme "http"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := produceStdin(t, e, tc.stdin, tc.args...)
			require.Equal(t, 2, r.code, "exit code; stderr: %s", r.stderr)
			for _, m := range tc.message {
				require.Contains(t, r.stderr, m)
			}
			require.Empty(t, r.stdout)
		})
	}
	// Nothing reached the queue.
	queues, err := e.inspector(t).Queues()
	require.NoError(t, err)
	require.NotContains(t, queues, e.queue)
}

func TestProducerHelp(t *testing.T) {
	t.Parallel()
	e := setup(t)
	r := produce(t, e, "-h")
	require.Equal(t, 0, r.code)
	for _, f := range []string{"-count", "-input", "-batch-size", "-run-id", "-wait", "-timeout", "-out", "[$BITQUEUE_REDIS_URL, $REDIS_URL]"} {
		require.Contains(t, r.stdout, f)
	}
	require.True(t, strings.HasPrefix(r.stdout, "Usage: producer"))
}

func TestProducerRedisUnreachable(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.URL = "redis://:s3cret@127.0.0.1:1/0"
	r := produce(t, e, "-count", "10", "-redis-wait", "300ms")
	require.Equal(t, 1, r.code, r.stderr)
	require.Contains(t, r.stderr, "did not answer within 300ms")
	require.NotContains(t, r.stderr, "s3cret")
}
