package suite

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"bitqueue/bench/internal/config"
	"bitqueue/bench/internal/fleet"
	"bitqueue/bench/internal/report"
	"bitqueue/bench/internal/trial"
	"bitqueue/internal/input"
)

// rssEvery is how often the producer's VmHWM is read while it runs. VmHWM is
// a high-water mark: only growth in the last rssEvery before exit can be
// missed.
const rssEvery = 5 * time.Millisecond

// producerMemory runs the producer binary on random integers at each of
// Opts.ProducerMemoryRuns into a queue no worker serves, and records its
// peak RSS (VmHWM, read from /proc every rssEvery until it exits; ru_maxrss
// would count this process's memory too, see fleet.VmHWM). Each run's tasks
// and record are deleted afterwards with "producer delete", and the queue
// emptied.
func producerMemory(ctx context.Context, e *trial.Env, rep *report.Report) error {
	rep.MaxCount = input.MaxCount
	q, err := e.Queue(ctx, "prodmem")
	if err != nil {
		return err
	}
	if err := e.Events.Set(ctx, ""); err != nil {
		return err
	}
	bin := filepath.Join(e.Opts.Bin, "producer")
	for _, cb := range e.Opts.ProducerMemoryRuns {
		fmt.Fprintf(e.Log, "producer memory: --count %d --batch-size %d, no worker\n", cb.Count, cb.Batch)
		id := e.NextRunID()
		common := []string{"--redis", e.URL, "--prefix", e.Prefix, "--run-id", id}
		cmd := exec.CommandContext(ctx, bin, append([]string{"--queue", q, "--count", strconv.FormatUint(cb.Count, 10),
			"--max", strconv.FormatUint(e.Opts.Max, 10), "--batch-size", strconv.Itoa(cb.Batch), "--log-level", "warn"}, common...)...)
		cmd.Env = config.ProcessEnv() // tracing off
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		if err := cmd.Start(); err != nil {
			return err
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		var peak int64
		tick := time.NewTicker(rssEvery)
	poll:
		for {
			if v, err := fleet.VmHWM(cmd.Process.Pid); err == nil {
				peak = max(peak, v)
			}
			select {
			case err := <-done:
				tick.Stop()
				if err != nil {
					return fmt.Errorf("producer --count %d --batch-size %d: %v: %s", cb.Count, cb.Batch, err, out.Bytes())
				}
				break poll
			case <-tick.C:
			}
		}
		row := report.ProducerRSS{Count: cb.Count, Batch: cb.Batch, PeakRSS: peak, Wall: time.Since(start)}
		rep.ProducerRSS = append(rep.ProducerRSS, row)
		fmt.Fprintf(e.Log, "  peak RSS %.1f MiB in %s\n", float64(row.PeakRSS)/(1<<20), row.Wall.Round(time.Millisecond))
		del := exec.CommandContext(ctx, bin, append([]string{"delete"}, common...)...)
		del.Env = config.ProcessEnv()
		if b, err := del.CombinedOutput(); err != nil {
			return fmt.Errorf("producer delete --run-id %s: %v: %s", id, err, b)
		}
		if err := e.Inspector.DeleteQueue(q, true); err != nil {
			return fmt.Errorf("empty queue %s: %w", q, err)
		}
	}
	return nil
}
