package suite

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"bitqueue/bench/internal/measure"
	"bitqueue/bench/internal/trial"
)

// profile runs two pipeline trials on a fleet started with --cpu-profile and
// returns the top of the first worker's profile.
func profile(ctx context.Context, e *trial.Env) (string, error) {
	o := e.Opts
	dir := o.ProfileDir
	if dir == "" {
		d, err := os.MkdirTemp("", "bitqueue-bench-pprof-")
		if err != nil {
			return "", err
		}
		defer os.RemoveAll(d)
		dir = d
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	fmt.Fprintf(e.Log, "profile: W=%d N=%d B=%d with --cpu-profile\n", o.Workers, o.Count, o.BatchSize)
	q, err := e.Queue(ctx, "profile")
	if err != nil {
		return "", err
	}
	files := make([]string, o.Workers)
	f, err := e.StartFleet(ctx, measure.KindBits, q, o.Workers, func(i int) []string {
		files[i] = filepath.Join(dir, fmt.Sprintf("worker-%d.pprof", i))
		return []string{"--cpu-profile", files[i]}
	})
	if err != nil {
		return "", err
	}
	for range 2 {
		if _, _, err := e.Run(ctx, measure.KindBits, q, f, o.Count, o.BatchSize, false); err != nil {
			f.Stop()
			return "", err
		}
	}
	f.Stop()
	out, err := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", "-nodecount=30", filepath.Join(o.Bin, "worker"), files[0]).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go tool pprof: %v: %s", err, out)
	}
	return string(out), nil
}
