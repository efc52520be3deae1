package trial

import (
	"context"
	"path/filepath"
	"strconv"
	"time"

	"bitqueue/bench/internal/baseline"
	"bitqueue/bench/internal/fleet"
	"bitqueue/bench/internal/measure"
)

// workerArgs are the flags every fleet gets, production or baseline, on
// the Redis at url.
func (e *Env) workerArgs(url, queue string) []string {
	args := []string{"--redis", url, "--queue", queue, "--prefix", e.Prefix, "--result-ttl", "30m", "--log-level", "info", "--log-format", "text"}
	if e.Opts.WorkerConcurrency > 0 {
		args = append(args, "--concurrency", strconv.Itoa(e.Opts.WorkerConcurrency))
	}
	if e.Opts.PollInterval > 0 {
		args = append(args, "--poll-interval", e.Opts.PollInterval.String())
	}
	return args
}

// StartFleet starts n worker processes of kind (measure.KindBits: the
// production worker; KindEmpty, KindBare and KindShipped: the baseline
// workers) serving
// queue; extra, when not nil, adds flags to process i.
func (e *Env) StartFleet(ctx context.Context, kind, queue string, n int, extra func(i int) []string) (*fleet.Fleet, error) {
	return e.StartFleetAt(ctx, e.URL, kind, queue, n, extra)
}

// StartFleetAt is StartFleet on the Redis at url rather than the run's.
func (e *Env) StartFleetAt(ctx context.Context, url, kind, queue string, n int, extra func(i int) []string) (*fleet.Fleet, error) {
	return fleet.Start(ctx, kind, n, func(i int) []string {
		var argv []string
		switch kind {
		case measure.KindBits:
			// Metrics on, as deployed, on a free loopback port of each one's own.
			argv = append([]string{filepath.Join(e.Opts.Bin, "worker")}, e.workerArgs(url, queue)...)
			argv = append(argv, "--http-addr", "127.0.0.1:0")
			argv = append(argv, e.Opts.WorkerFlags...)
		case measure.KindEmpty:
			argv = append(baseline.Args(e.Opts.Self, baseline.Empty), e.workerArgs(url, queue)...)
		case measure.KindBare:
			argv = append(baseline.Args(e.Opts.Self, baseline.Bare), e.workerArgs(url, queue)...)
		case measure.KindShipped:
			argv = append(baseline.Args(e.Opts.Self, baseline.Shipped), e.workerArgs(url, queue)...)
		}
		if extra != nil {
			argv = append(argv, extra(i)...)
		}
		return argv
	}, 30*time.Second)
}
