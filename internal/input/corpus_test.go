package input_test

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/input"
)

// updateCorpus rewrites the fuzz seeds taken from the e2e corpus.
var updateCorpus = flag.Bool("update-corpus", false, "rewrite testdata/fuzz seeds from ../../e2e/testdata/badinput")

// Every file of the e2e bad-input corpus is refused by the scanner with the
// message its .want file gives (or holds no integer at all, which the
// producer refuses), and seeds FuzzScanner.
func TestBadInputCorpus(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "e2e", "testdata", "badinput", "*.txt"))
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

			seed := "go test fuzz v1\n[]byte(" + strconv.Quote(string(in)) + ")\n"
			path := filepath.Join("testdata", "fuzz", "FuzzScanner", "badinput-"+strings.TrimSuffix(name, ".txt"))
			if *updateCorpus {
				require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
				require.NoError(t, os.WriteFile(path, []byte(seed), 0o644))
				return
			}
			got, err := os.ReadFile(path)
			require.NoError(t, err, "fuzz seed missing; run go test ./internal/input -run Corpus -update-corpus")
			require.Equal(t, seed, string(got), "fuzz seed %s is stale; run go test ./internal/input -run Corpus -update-corpus", path)
		})
	}
}
