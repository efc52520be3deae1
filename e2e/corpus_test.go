package e2e

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The corpora under testdata are shared with the fuzz targets: the
// packages' corpus tests (internal/tasks, internal/input) check that each
// file here seeds testdata/fuzz of its target.

// corpusCase is one file of a corpus: its name (the file name without its
// extension), what it holds, and the message fragment its "# want:" line
// gives.
type corpusCase struct {
	name string
	want string
	data []byte            // badpayload: the payload
	hash map[string]string // badresult: the hash fields
}

// readCorpus reads testdata/<dir>/*.<ext>, failing t when a file lacks its
// "# want:" line.
func readCorpus(t *testing.T, dir, ext string, parse func(t *testing.T, c *corpusCase, lines []string)) []corpusCase {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", dir, "*."+ext))
	require.NoError(t, err)
	require.NotEmpty(t, files, "corpus testdata/%s", dir)
	var out []corpusCase
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		c := corpusCase{name: strings.TrimSuffix(filepath.Base(f), "."+ext)}
		var body []string
		for line := range strings.SplitSeq(string(b), "\n") {
			if w, ok := strings.CutPrefix(line, "# want: "); ok {
				c.want = w
			} else if !strings.HasPrefix(line, "#") && strings.TrimSpace(line) != "" {
				body = append(body, line)
			}
		}
		require.NotEmpty(t, c.want, "%s has no # want: line", f)
		parse(t, &c, body)
		out = append(out, c)
	}
	return out
}

// badPayloads reads testdata/badpayload/*.hex: payload bytes in hex.
func badPayloads(t *testing.T) []corpusCase {
	t.Helper()
	return readCorpus(t, "badpayload", "hex", func(t *testing.T, c *corpusCase, lines []string) {
		b, err := hex.DecodeString(strings.Join(strings.Fields(strings.Join(lines, " ")), ""))
		require.NoError(t, err, "hex of %s", c.name)
		c.data = b
	})
}

// badResults reads testdata/badresult/*.txt: "field value" lines, bits in
// hex.
func badResults(t *testing.T) []corpusCase {
	t.Helper()
	return readCorpus(t, "badresult", "txt", func(t *testing.T, c *corpusCase, lines []string) {
		c.hash = map[string]string{}
		for _, l := range lines {
			field, value, _ := strings.Cut(l, " ")
			if field == "bits" {
				b, err := hex.DecodeString(strings.Join(strings.Fields(value), ""))
				require.NoError(t, err, "bits of %s", c.name)
				value = string(b)
			}
			c.hash[field] = value
		}
	})
}
