package base_test

import (
	"bitqueue/internal/base"
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// updateCorpus rewrites the fuzz seeds taken from the e2e corpora.
var updateCorpus = flag.Bool("update-corpus", false, "rewrite testdata/fuzz seeds from ../../e2e/testdata")

// corpusFile is one file of an e2e corpus: its name, its "# want:" message
// fragment and its other non-comment lines.
type corpusFile struct {
	name, want string
	body       []string
}

func readCorpus(t *testing.T, dir, ext string) []corpusFile {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "e2e", "testdata", dir, "*."+ext))
	require.NoError(t, err)
	require.NotEmpty(t, files, "corpus e2e/testdata/%s", dir)
	var out []corpusFile
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		c := corpusFile{name: strings.TrimSuffix(filepath.Base(f), "."+ext)}
		for line := range strings.SplitSeq(string(b), "\n") {
			if w, ok := strings.CutPrefix(line, "# want: "); ok {
				c.want = w
			} else if !strings.HasPrefix(line, "#") && strings.TrimSpace(line) != "" {
				c.body = append(c.body, line)
			}
		}
		require.NotEmpty(t, c.want, "%s has no # want: line", f)
		out = append(out, c)
	}
	return out
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	require.NoError(t, err)
	return b
}

// checkSeed checks, or with -update-corpus writes, the fuzz seed file
// testdata/fuzz/<target>/<name> holding values in Go's corpus format.
func checkSeed(t *testing.T, target, name string, values ...any) {
	t.Helper()
	var b strings.Builder
	b.WriteString("go test fuzz v1\n")
	for _, v := range values {
		switch v := v.(type) {
		case []byte:
			b.WriteString("[]byte(" + strconv.Quote(string(v)) + ")\n")
		case string:
			b.WriteString("string(" + strconv.Quote(v) + ")\n")
		default:
			t.Fatalf("seed value of type %T", v)
		}
	}
	path := filepath.Join("testdata", "fuzz", target, name)
	if *updateCorpus {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
		return
	}
	got, err := os.ReadFile(path)
	require.NoError(t, err, "fuzz seed missing; run go test ./internal/tasks -run Corpus -update-corpus")
	require.Equal(t, b.String(), string(got), "fuzz seed %s is stale; run go test ./internal/tasks -run Corpus -update-corpus", path)
}

// Every bad payload of the e2e corpus is refused by DecodeBatch with the
// reason its file states, and seeds FuzzDecodeBatch.
func TestBadPayloadCorpus(t *testing.T) {
	for _, c := range readCorpus(t, "badpayload", "hex") {
		t.Run(c.name, func(t *testing.T) {
			p := unhex(t, strings.Join(c.body, " "))
			var b base.Batch
			err := base.DecodeBatch(&b, p)
			require.ErrorIs(t, err, base.ErrMalformed)
			require.ErrorContains(t, err, c.want)
			checkSeed(t, "FuzzDecodeBatch", "badpayload-"+c.name, p)
		})
	}
}

// Every malformed result hash of the e2e corpus is refused by ParseResult
// with the reason its file states (the well-formed ones that disagree with
// their input are the producer's to refuse), and seeds FuzzParseResult.
func TestBadResultCorpus(t *testing.T) {
	for _, c := range readCorpus(t, "badresult", "txt") {
		t.Run(c.name, func(t *testing.T) {
			h := map[string]string{}
			for _, l := range c.body {
				field, value, _ := strings.Cut(l, " ")
				if field == base.FieldBits {
					value = string(unhex(t, value))
				}
				h[field] = value
			}
			_, err := base.ParseResult(h)
			if reason, ok := strings.CutPrefix(c.want, "bad result hash: "); ok {
				require.ErrorIs(t, err, base.ErrBadResult)
				require.ErrorContains(t, err, reason)
			} else {
				require.NoError(t, err, "a well-formed result")
			}
			checkSeed(t, "FuzzParseResult", "badresult-"+c.name, h[base.FieldVersion], h[base.FieldCount], h[base.FieldWidth], []byte(h[base.FieldBits]))
		})
	}
}
