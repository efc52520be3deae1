package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// inRepo runs name with args in dir, a directory given by its path from the
// repository root, and returns its stdout; a failure fails the test with
// the command's stderr.
func inRepo(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = filepath.Join("..", dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "%s %s in %s: %s", name, strings.Join(args, " "), dir, stderr.String())
	return string(out)
}

// modulesOfRepo returns the directory, from the repository root, of every
// go.mod of the repository outside testdata and dot directories: "." for
// the product's module.
func modulesOfRepo(t *testing.T) []string {
	t.Helper()
	var dirs []string
	err := filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != ".." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.Name() == "go.mod" {
			rel, err := filepath.Rel("..", filepath.Dir(path))
			if err != nil {
				return err
			}
			dirs = append(dirs, filepath.ToSlash(rel))
		}
		return nil
	})
	require.NoError(t, err)
	slices.Sort(dirs)
	return dirs
}

// plotting matches the modules the benchmark draws its chart with (gonum's
// plot, its fonts, PDF, LaTeX, SVG and image modules).
var plotting = regexp.MustCompile(`(?i)gonum|font|pdf|latex|svg|freetype|golang\.org/x/image`)

// TestProductModuleLeavesOutTheBenchmark checks that the benchmark is a
// module of its own, bitqueue/bench in bench/, requiring the product
// through a replace directive, so that the product's module graph — what a
// fresh `make demo` or `make test` downloads — holds none of the
// benchmark's plotting modules, and the product's ./... none of its
// packages. It reads bench/go.mod with go mod edit, which loads nothing:
// the product's tests download none of the benchmark's modules.
func TestProductModuleLeavesOutTheBenchmark(t *testing.T) {
	t.Parallel()
	product := inRepo(t, ".", "go", "list", "-m", "all")
	require.Contains(t, product, "github.com/hibiken/asynq", "go list -m all lists the product's modules")
	for m := range strings.SplitSeq(strings.TrimSpace(product), "\n") {
		require.NotRegexp(t, plotting, m, "the product's module graph (go list -m all at the root) holds a plotting module")
	}
	for p := range strings.SplitSeq(inRepo(t, ".", "go", "list", "-deps", "-test", "./..."), "\n") {
		require.NotRegexp(t, plotting, p, "the product's packages and their tests import a plotting package")
	}
	packages := inRepo(t, ".", "go", "list", "./...")
	require.Contains(t, packages, "bitqueue/cmd/worker\n")
	require.NotContains(t, packages, "bitqueue/bench", "the product's ./... holds a package of the benchmark")

	var bench struct {
		Module  struct{ Path string }
		Require []struct{ Path string }
		Replace []struct{ Old, New struct{ Path string } }
	}
	require.NoError(t, json.Unmarshal([]byte(inRepo(t, "bench", "go", "mod", "edit", "-json")), &bench))
	require.Equal(t, "bitqueue/bench", bench.Module.Path, "bench/ is a module of its own")
	require.Len(t, bench.Replace, 1)
	require.Equal(t, "bitqueue", bench.Replace[0].Old.Path)
	require.Equal(t, "../", bench.Replace[0].New.Path, "the benchmark builds on the product of the same checkout")
	var required []string
	for _, r := range bench.Require {
		required = append(required, r.Path)
	}
	require.Contains(t, required, "bitqueue")
	require.Contains(t, required, "gonum.org/v1/plot", "the plotting modules are the benchmark's")
}

// TestProductLinksNoGRPC checks that no command, package or test of the
// product imports a package of gRPC: bitqueue sends its spans over OTLP/HTTP
// with a client of its own (internal/tracing), since the OTLP collector
// package of the SDK's HTTP client holds the gRPC service stubs too, and
// would link grpc into every command and bring grpc's module graph (gonum's
// among it) into the product's.
func TestProductLinksNoGRPC(t *testing.T) {
	t.Parallel()
	deps := inRepo(t, ".", "go", "list", "-deps", "-test", "./...")
	require.Contains(t, deps, "go.opentelemetry.io/otel/sdk/trace\n", "go list -deps lists the packages the product builds")
	for p := range strings.SplitSeq(deps, "\n") {
		require.NotContains(t, p, "google.golang.org/grpc", "the product's packages and their tests import a gRPC package")
		require.NotContains(t, p, "go.opentelemetry.io/proto/otlp/collector/", "the product's packages and their tests import an OTLP collector package (gRPC stubs)")
	}
}

// requireMake skips the test, saying why, where make is not installed.
func requireMake(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed: this test reads the Makefile's targets with make -n (apt-get install make)")
	}
}

// TestMakeCoversEveryModule checks, on `make -n`, that make test,
// test-short and vet run go test and go vet in every module of the
// repository, the benchmark's included.
func TestMakeCoversEveryModule(t *testing.T) {
	t.Parallel()
	requireMake(t)
	modules := modulesOfRepo(t)
	require.Equal(t, []string{".", "bench"}, modules)
	for _, target := range []string{"test", "test-short", "vet"} {
		t.Run(target, func(t *testing.T) {
			t.Parallel()
			verb := strings.TrimSuffix(target, "-short")
			step := regexp.MustCompile(`(?m)^(?:cd (\S+) && )?go ` + verb + ` `)
			var dirs []string
			for _, m := range step.FindAllStringSubmatch(inRepo(t, ".", "make", "-n", "--no-print-directory", target, "GO=go"), -1) {
				dirs = append(dirs, filepath.ToSlash(filepath.Clean("./"+m[1])))
			}
			slices.Sort(dirs)
			require.Equal(t, modules, slices.Compact(dirs), "make %s runs go %s in every module", target, verb)
		})
	}
}
