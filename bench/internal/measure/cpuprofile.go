package measure

import (
	"bufio"
	"fmt"
	"strings"
	"time"
)

// Stack is one call stack of a CPU profile and the CPU time sampled in it.
type Stack struct {
	CPU    time.Duration
	Frames []string // leaf first, functions as pprof names them
}

// frameIndent starts a frame's line that is not its stack's leaf: pprof
// prints each as "%10s   %s", the value only on the leaf's.
var frameIndent = strings.Repeat(" ", 13)

// SamplePeriod is the CPU time one sample of a Go CPU profile stands for:
// runtime/pprof's StartCPUProfile samples at 100 Hz.
const SamplePeriod = 10 * time.Millisecond

// ParseTraces reads the call stacks of a CPU profile as `go tool pprof
// -traces` prints them: a header, then each stack between separator lines,
// its CPU time on its leaf's line. Labels printed above a stack, and the
// "(inline)" mark of inlined frames, are dropped.
func ParseTraces(text string) ([]Stack, error) {
	var out []Stack
	// in: past the header; open: a stack has begun since the last
	// separator.
	in, open := false, false
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "-----------+"):
			in, open = true, false
			continue
		case strings.HasPrefix(line, "Type:") && !in:
			if t := strings.TrimSpace(strings.TrimPrefix(line, "Type:")); t != "cpu" {
				return nil, fmt.Errorf("pprof -traces line %d: profile type %q, want cpu", n, t)
			}
			continue
		case !in || strings.TrimSpace(line) == "":
			continue
		}
		frame := strings.TrimSpace(line)
		if !strings.HasPrefix(line, frameIndent) { // the leaf's line, or a label's
			head, rest, _ := strings.Cut(frame, " ")
			if strings.HasSuffix(head, ":") { // a label, "key:  values"
				continue
			}
			d, err := parseValue(head)
			if err != nil {
				return nil, fmt.Errorf("pprof -traces line %d: %w", n, err)
			}
			out = append(out, Stack{CPU: d})
			frame = strings.TrimSpace(rest)
		} else if len(out) == 0 || !open {
			return nil, fmt.Errorf("pprof -traces line %d: a frame before its sample's value", n)
		}
		open = true
		s := &out[len(out)-1]
		s.Frames = append(s.Frames, strings.TrimSuffix(frame, " (inline)"))
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("pprof -traces: no sample")
	}
	return out, nil
}

// parseValue reads a sample value as pprof prints a time: "10ms", "1.20s",
// "2hrs".
func parseValue(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.Replace(s, "hrs", "h", 1))
	if err != nil {
		return 0, fmt.Errorf("sample value %q is not a time", s)
	}
	return d, nil
}
