package suite

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"bitqueue/bench/internal/report"
	"bitqueue/bench/internal/trial"
	"bitqueue/internal/input"
)

// producerMemory runs the producer binary on random integers at each of
// Opts.ProducerMemoryRuns into a queue no worker serves, and records its
// peak RSS (the child's ru_maxrss). Each run's tasks and record are deleted
// afterwards with "producer delete", and the queue emptied.
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
		common := []string{"--redis", e.URL, "--prefix", e.Prefix, "--run-id", id, "--log-level", "warn"}
		cmd := exec.CommandContext(ctx, bin, append([]string{"--queue", q, "--count", strconv.FormatUint(cb.Count, 10),
			"--max", strconv.FormatUint(e.Opts.Max, 10), "--batch-size", strconv.Itoa(cb.Batch)}, common...)...)
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("producer --count %d --batch-size %d: %v: %s", cb.Count, cb.Batch, err, out)
		}
		wall := time.Since(start)
		ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		if !ok {
			return fmt.Errorf("no resource usage of the producer on this system")
		}
		row := report.ProducerRSS{Count: cb.Count, Batch: cb.Batch, PeakRSS: ru.Maxrss << 10, Wall: wall} // Linux: KiB
		rep.ProducerRSS = append(rep.ProducerRSS, row)
		fmt.Fprintf(e.Log, "  peak RSS %.1f MiB in %s\n", float64(row.PeakRSS)/(1<<20), wall.Round(time.Millisecond))
		del := exec.CommandContext(ctx, bin, append([]string{"delete"}, common[:len(common)-2]...)...)
		if out, err := del.CombinedOutput(); err != nil {
			return fmt.Errorf("producer delete --run-id %s: %v: %s", id, err, out)
		}
		if err := e.Inspector.DeleteQueue(q, true); err != nil {
			return fmt.Errorf("empty queue %s: %w", q, err)
		}
	}
	return nil
}
