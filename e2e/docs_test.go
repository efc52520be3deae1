package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDocsNameRealTests checks that every test, fuzz target and benchmark
// the README and docs/ name, in backquotes, is a function of a _test.go
// file of the repository: a guarantee never points at a test that was
// renamed or removed.
func TestDocsNameRealTests(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..")
	defined := map[string]bool{}
	decl := regexp.MustCompile(`(?m)^func ((?:Test|Fuzz|Benchmark)[A-Z]\w*)\(`)
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range decl.FindAllSubmatch(b, -1) {
			defined[string(m[1])] = true
		}
		return nil
	})
	require.NoError(t, err)
	require.True(t, defined["TestDocsNameRealTests"], "the walk found this file")

	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	require.NoError(t, err)
	named := regexp.MustCompile("`((?:Test|Fuzz|Benchmark)[A-Z]\\w*)`")
	for _, doc := range append([]string{"README.md", "BENCHMARKS.md"}, docs...) {
		doc = strings.TrimPrefix(doc, root+string(filepath.Separator))
		text := readRepoFile(t, doc)
		for _, m := range named.FindAllStringSubmatch(text, -1) {
			require.True(t, defined[m[1]], "%s names %s, which no _test.go file defines", doc, m[1])
		}
	}
}
