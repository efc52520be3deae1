package suite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"bitqueue/bench/internal/measure"
	"bitqueue/bench/internal/report"
	"bitqueue/bench/internal/trial"
)

// profileTrials is the number of pipeline trials the fleet profiled at the
// main batch size runs; at a larger batch size, as many more as give it as
// many batches, up to maxProfileTrials, since the profiler samples CPU time
// (100 Hz) and a larger batch's trial is shorter.
const (
	profileTrials    = 2
	maxProfileTrials = 10
)

// profile profiles the workers at the main batch size and at
// report.ShareBatch: at each, a few pipeline trials on a fleet
// started with --cpu-profile, whose profiles are split into the parts of
// the worker's code (measure.SplitWorker) and scaled by the fleet's CPU
// (rep.Attribution, one per batch size); rep.Profile is the top of the
// first worker's profile at the main batch size. What fails is reported in
// rep, not returned: the rest of the run stands without a profile.
func profile(ctx context.Context, e *trial.Env, rep *report.Report) {
	o := e.Opts
	dir := o.ProfileDir
	if dir == "" {
		d, err := os.MkdirTemp("", "bitqueue-bench-pprof-")
		if err != nil {
			rep.ProfileErr = err.Error()
			return
		}
		defer os.RemoveAll(d)
		dir = d
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		rep.ProfileErr = err.Error()
		return
	}
	batches := []int{o.BatchSize}
	if o.BatchSize != report.ShareBatch {
		batches = append(batches, report.ShareBatch)
	}
	for _, b := range batches {
		a, files, err := profileAt(ctx, e, dir, b)
		if err == nil {
			err = attribute(ctx, e, files, &a)
		}
		if err != nil {
			a.Err = err.Error()
			fmt.Fprintf(e.Log, "profile B=%d: %v\n", b, err)
		}
		rep.Attribution = append(rep.Attribution, a)
		if b != o.BatchSize {
			continue
		}
		if len(files) == 0 {
			rep.ProfileErr = a.Err
		} else if rep.Profile, err = pprof(ctx, e, []string{"-top", "-nodecount=30"}, files[:1]); err != nil {
			rep.ProfileErr = err.Error()
		}
	}
}

// profileAt runs pipeline trials of batch on a fleet started
// with --cpu-profile, writing its profiles into dir, and returns the
// trials, the fleet's CPU from its start to just before its stop, and the
// profiles' files (none when the fleet did not run its trials).
func profileAt(ctx context.Context, e *trial.Env, dir string, batch int) (measure.Attribution, []string, error) {
	o := e.Opts
	a := measure.Attribution{Workers: o.Workers, Batch: batch}
	trials := min(max(profileTrials*batch/o.BatchSize, profileTrials), maxProfileTrials)
	fmt.Fprintf(e.Log, "profile: W=%d N=%d B=%d with --cpu-profile, %d trials\n", o.Workers, o.Count, batch, trials)
	q, err := e.Queue(ctx, fmt.Sprintf("profile%d", batch))
	if err != nil {
		return a, nil, err
	}
	files := make([]string, o.Workers)
	f, err := e.StartFleet(ctx, measure.KindBits, q, o.Workers, func(i int) []string {
		files[i] = filepath.Join(dir, fmt.Sprintf("worker-B%d-%d.pprof", batch, i))
		return []string{"--cpu-profile", files[i]}
	})
	if err != nil {
		return a, nil, err
	}
	for range trials {
		t, _, err := e.Run(ctx, measure.KindBits, q, f, o.Count, batch, false)
		if err != nil {
			f.Stop()
			return a, nil, err
		}
		a.Trials = append(a.Trials, t)
	}
	a.CPU, err = f.CPU() // the profiles stop at exit: this leaves out only the stop
	f.Stop()
	return a, files, err
}

// attribute splits the samples of the profiles in files, merged, into the
// parts of the worker's code.
func attribute(ctx context.Context, e *trial.Env, files []string, a *measure.Attribution) error {
	out, err := pprof(ctx, e, []string{"-traces"}, files)
	if err != nil {
		return err
	}
	stacks, err := measure.ParseTraces(out)
	if err != nil {
		return err
	}
	a.Sampled, a.Parts = measure.SplitWorker(stacks)
	if a.Sampled <= 0 {
		return errors.New("the profiles hold no sample")
	}
	return nil
}

// pprof runs go tool pprof with flags on the worker binary and the profiles
// in files, merged, and returns what it prints.
func pprof(ctx context.Context, e *trial.Env, flags, files []string) (string, error) {
	args := append(append(append([]string{"tool", "pprof"}, flags...), filepath.Join(e.Opts.Bin, "worker")), files...)
	out, err := exec.CommandContext(ctx, "go", args...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("go tool pprof: %v: %s", err, ee.Stderr)
		}
		return "", fmt.Errorf("go tool pprof: %w", err)
	}
	return string(out), nil
}
