package suite

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"bitqueue/bench/internal/config"
	"bitqueue/bench/internal/trial"
	"bitqueue/internal/input"
)

// producerFile times the producer binary enqueueing FileCount integers from
// a file (no worker serves the queue), three times.
func producerFile(ctx context.Context, e *trial.Env) (wall, cpu []time.Duration, err error) {
	o := e.Opts
	dir, err := os.MkdirTemp("", "bitqueue-bench-input-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "numbers.txt")
	if err := writeNumbers(path, e.Seed, o.FileCount, o.Max); err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(e.Log, "producer: %d integers from a file, batches of %d\n", o.FileCount, o.BatchSize)
	q, err := e.Queue(ctx, "producer")
	if err != nil {
		return nil, nil, err
	}
	for range 3 {
		id := e.NextRunID()
		cmd := exec.CommandContext(ctx, filepath.Join(o.Bin, "producer"), "--redis", e.URL, "--queue", q, "--prefix", e.Prefix,
			"--input", path, "--batch-size", strconv.Itoa(o.BatchSize), "--run-id", id, "--log-level", "warn")
		cmd.Env = config.ProcessEnv() // tracing off
		start := time.Now()
		if outb, err := cmd.CombinedOutput(); err != nil {
			return nil, nil, fmt.Errorf("producer: %v: %s", err, outb)
		}
		d := time.Since(start)
		c := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		wall, cpu = append(wall, d), append(cpu, c)
		fmt.Fprintf(e.Log, "  producer --input (%d integers): %s (CPU %s)\n", o.FileCount, d.Round(time.Millisecond), c.Round(time.Millisecond))
		if err := e.Inspector.DeleteQueue(q, true); err != nil {
			return nil, nil, fmt.Errorf("empty queue %s: %w", q, err)
		}
	}
	return wall, cpu, nil
}

// writeNumbers writes the first n random integers below limit of seed to
// path, one per line.
func writeNumbers(path string, seed, n, limit uint64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<16)
	s, _ := input.Random(seed, n, limit).Open()
	line := make([]byte, 0, 24)
	for {
		v, err := s.Next()
		if err != nil {
			break
		}
		line = strconv.AppendUint(line[:0], v, 10)
		line = append(line, '\n')
		if _, err := w.Write(line); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
