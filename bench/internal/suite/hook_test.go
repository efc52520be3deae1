package suite

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestIntsPerSec reads go test's benchmark lines as the hook's comparison
// does: the ints/s of each run, by name without the GOMAXPROCS suffix, other
// lines and metrics ignored.
func TestIntsPerSec(t *testing.T) {
	t.Parallel()
	out := `goos: linux
cpu: AMD EPYC
BenchmarkLookup-2   	     200	   1460654 ns/op	         1.000 MiB	 179470311 ints/s	       0 B/op	       0 allocs/op
BenchmarkDirect-2   	     200	    946616 ns/op	 276927588 ints/s	       0 B/op	       0 allocs/op
BenchmarkLookup-2   	     200	   1460654 ns/op	         1.000 MiB	 180000000 ints/s	       0 B/op	       0 allocs/op
PASS
ok  	bitqueue/internal/cache	0.518s
`
	require.Equal(t, map[string][]float64{
		"BenchmarkLookup": {179470311, 180000000},
		"BenchmarkDirect": {276927588},
	}, intsPerSec(out))
}
