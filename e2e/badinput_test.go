package e2e

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strconv"
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

// TestProducerRejectsBadInputCorpus runs the real producer on every file of
// testdata/badinput (each <name>.txt beside a <name>.want holding the message
// the producer must print), on input generated here (10 MB lines) and on
// files that cannot be read. Each must exit 2 with one line naming the token
// and its line, and leave nothing in Redis.
func TestProducerRejectsBadInputCorpus(t *testing.T) {
	t.Parallel()
	e := setup(t)
	type tc struct {
		name  string
		args  []string
		stdin string
		want  string
	}
	var cases []tc
	files, err := filepath.Glob(filepath.Join("testdata", "badinput", "*.txt"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 20, "bad input corpus")
	for _, f := range files {
		want, err := os.ReadFile(strings.TrimSuffix(f, ".txt") + ".want")
		require.NoError(t, err, "every corpus file needs its .want")
		// The producer names the file as given, the .want by its base
		// name.
		abs, err := filepath.Abs(f)
		require.NoError(t, err)
		cases = append(cases, tc{filepath.Base(f), []string{"-input", abs}, "", filepath.Dir(abs) + string(filepath.Separator) + strings.TrimSpace(string(want))})
	}

	dir := t.TempDir()
	// One 10 MB token: cut to its first 64 bytes in the message, never
	// held whole.
	huge := filepath.Join(dir, "huge-token.txt")
	writeFile(t, huge, func(w *bufio.Writer) {
		w.WriteString("1 2\n")
		for range 10 << 20 {
			w.WriteByte('7')
		}
		w.WriteString("\n3\n")
	})
	cases = append(cases, tc{"10 MB token", []string{"-input", huge}, "", huge + `:2: "` + strings.Repeat("7", 64) + `" is longer than 64 bytes`})
	// A 10 MB line of good integers, then a bad token on line 2.
	longLine := filepath.Join(dir, "long-line.txt")
	writeFile(t, longLine, func(w *bufio.Writer) {
		for n, i := 0, 0; n < 10<<20; i++ {
			k, _ := w.WriteString(strconv.Itoa(i) + " ")
			n += k
		}
		w.WriteString("\r\n5 6 seven\r\n")
	})
	cases = append(cases,
		tc{"10 MB line", []string{"-input", longLine}, "", longLine + `:2: "seven" is not a decimal integer`},
		tc{"stdin", []string{"-input", "-"}, "1\n2\r\n 3 0x10\n", `stdin:3: "0x10" is not a decimal integer`},
		tc{"empty stdin", []string{"-input", "-"}, "", "stdin: holds no integers"},
		tc{"missing file", []string{"-input", filepath.Join(dir, "nope.txt")}, "", filepath.Join(dir, "nope.txt") + ": cannot be read: no such file or directory"},
		tc{"directory", []string{"-input", dir}, "", dir + ": is a directory, want a file of integers"},
	)

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := produceStdin(t, e, c.stdin, append(c.args, "-run-id", "bad")...)
			require.Equal(t, 2, r.code, "exit code; stderr:\n%s", r.stderr)
			require.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line; stderr:\n%s", r.stderr)
			line := strings.TrimSpace(r.stderr)
			require.True(t, strings.HasPrefix(line, "producer: "+c.want), "message\n  %s\nwant it to start with\n  producer: %s", line, c.want)
			require.Empty(t, r.stdout)
		})
	}

	// Nothing reached Redis: no queue, no key under the prefix.
	queues, err := e.inspector(t).Queues()
	require.NoError(t, err)
	require.NotContains(t, queues, e.queue)
	keys, err := e.Client.Keys(context.Background(), e.prefix+":*").Result()
	require.NoError(t, err)
	require.Empty(t, keys)
}

// writeFile creates path and fills it with fill.
func writeFile(t *testing.T, path string, fill func(*bufio.Writer)) {
	t.Helper()
	f, err := os.Create(path)
	require.NoError(t, err)
	w := bufio.NewWriterSize(f, 1<<16)
	fill(w)
	require.NoError(t, w.Flush())
	require.NoError(t, f.Close())
}
