package report

import (
	"fmt"
	"strings"
	"time"
)

// The formats of the report's figures, also the template's functions.

func mega(v float64) string {
	if v < 100e3 {
		return fmt.Sprintf("%.1f k", v/1e3)
	}
	return fmt.Sprintf("%.2f M", v/1e6)
}

func mib(v float64) string { return fmt.Sprintf("%.1f MiB", v/(1<<20)) }
func mb(v float64) string  { return fmt.Sprintf("%.2f MB", v/1e6) }

func secs(d time.Duration) string { return fmt.Sprintf("%.3f s", d.Seconds()) }

func ms(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d >= 100*time.Millisecond:
		return fmt.Sprintf("%.0f ms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	}
}

func joinDur(ds []time.Duration) string {
	s := make([]string, len(ds))
	for i, d := range ds {
		s[i] = ms(d)
	}
	return strings.Join(s, ", ")
}

func joinMiB(xs []int64) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = mib(float64(x))
	}
	return strings.Join(s, ", ")
}

// thousands formats v rounded to an integer with thousands separators.
func thousands(v float64) string {
	n := int64(v + 0.5)
	s := fmt.Sprint(n)
	if n < 0 {
		return s
	}
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

// units format the gap between a figure and its target in a verdict.
var units = map[string]func(float64) string{
	"ints/s": mega,
	"points": func(v float64) string { return fmt.Sprintf("%.0f points", 100*v) },
	"times":  func(v float64) string { return fmt.Sprintf("%.2f ×", v) },
	"ms":     func(v float64) string { return ms(time.Duration(v)) },
	"MiB":    mib,
	"core":   func(v float64) string { return fmt.Sprintf("%.4f %% of a core", 100*v) },
}

// atLeast is the verdict on figure v against a target it must reach; unit
// names the format of the gap (a key of units).
func atLeast(v, target float64, unit string) string {
	if v >= target {
		return "met"
	}
	return fmt.Sprintf("**missed** by %s (%.0f %%)", units[unit](target-v), 100*(target-v)/target)
}

// atMost is the verdict on figure v against a target it must stay under.
func atMost(v, target float64, unit string) string {
	if v <= target {
		return "met"
	}
	return fmt.Sprintf("**missed** by %s (%.0f %%)", units[unit](v-target), 100*(v-target)/target)
}

// both joins the verdicts of a p50 and a p99.
func both(a, b string) string {
	if a == "met" && b == "met" {
		return "met"
	}
	return "p50 " + a + "; p99 " + b
}

// trimProfile keeps pprof's summary lines and its table.
func trimProfile(s string) string {
	var out []string
	for line := range strings.SplitSeq(s, "\n") {
		if strings.HasPrefix(line, "File:") || strings.HasPrefix(line, "Build ID:") || strings.HasPrefix(line, "Time:") {
			continue
		}
		out = append(out, line)
	}
	return strings.TrimLeft(strings.Join(out, "\n"), "\n")
}
