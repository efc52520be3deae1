// Command demo runs the whole job on one machine with nothing to install: an
// embedded Redis, a fleet of real worker processes and the real producer. It
// checks every result against strconv.FormatInt and prints what it measured.
package main

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/alicebob/miniredis/v2"

	"bitqueue/internal/base"
	"bitqueue/internal/cli"
	"bitqueue/internal/input"
	"bitqueue/internal/redisconn"
)

func main() { cli.Main("demo", run) }

type config struct {
	count, max, seed uint64
	workers          int
	batchSize        int
	bin              string
	redisURL         string
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c, err := parse(args, getenv, stdout)
	if err != nil {
		return err
	}
	if c.redisURL == "" {
		m := miniredis.NewMiniRedis()
		if err := m.Start(); err != nil {
			return fmt.Errorf("start embedded Redis: %w", err)
		}
		defer m.Close()
		c.redisURL = "redis://" + m.Addr() + "/0"
		fmt.Fprintf(stdout, "embedded Redis (miniredis) at %s\n", m.Addr())
	}
	runID := base.NewRunID(time.Now())
	queue := "demo-" + runID

	var workers []*exec.Cmd
	defer func() {
		for _, w := range workers {
			_ = w.Process.Signal(syscall.SIGTERM)
		}
		for _, w := range workers {
			_ = w.Wait()
		}
	}()
	for range c.workers {
		w := exec.CommandContext(ctx, filepath.Join(c.bin, "worker"), "--redis", c.redisURL, "--queue", queue, "--log-level", "warn", "--http-addr", "off")
		w.Stdout, w.Stderr = stderr, stderr
		if err := w.Start(); err != nil {
			return fmt.Errorf("start worker: %w", err)
		}
		workers = append(workers, w)
	}
	fmt.Fprintf(stdout, "started %d worker processes; producing %d random integers in batches of %d (run %s)\n", c.workers, c.count, c.batchSize, runID)

	start := time.Now()
	p := exec.CommandContext(ctx, filepath.Join(c.bin, "producer"),
		"--redis", c.redisURL, "--queue", queue, "--run-id", runID,
		"--count", strconv.FormatUint(c.count, 10), "--max", strconv.FormatUint(c.max, 10), "--seed", strconv.FormatUint(c.seed, 10),
		"--batch-size", strconv.Itoa(c.batchSize), "--wait", "--timeout", "10m", "--log-level", "warn")
	p.Stdout, p.Stderr = stdout, stderr
	if err := p.Run(); err != nil {
		return fmt.Errorf("producer: %w", err)
	}
	wall := time.Since(start)

	checked, samples, err := verify(ctx, c, runID)
	if err != nil {
		return err
	}
	batches := base.Batches(c.count, c.batchSize)
	fmt.Fprintf(stdout, "verified %d integers in %d batches against strconv.FormatInt: all correct\n", checked, batches)
	fmt.Fprintf(stdout, "wall time %s (enqueue to last result), %.0f integers/s, %.0f batches/s\n",
		wall.Round(time.Millisecond), float64(c.count)/wall.Seconds(), float64(batches)/wall.Seconds())
	fmt.Fprintln(stdout, "samples:")
	for _, s := range samples {
		fmt.Fprintf(stdout, "  %d\t%s\n", s.n, s.bits)
	}
	return nil
}

type sample struct {
	n    uint64
	bits string
}

// verify reads every result hash of the run and compares each row with
// strconv.FormatInt of the integer the producer drew.
func verify(ctx context.Context, c config, runID string) (int, []sample, error) {
	db, err := redisconn.Setup{URL: c.redisURL}.Open()
	if err != nil {
		return 0, nil, err
	}
	defer db.Close()
	s, err := input.Random(c.seed, c.count, c.max).Open()
	if err != nil {
		return 0, nil, err
	}
	var checked int
	var samples []sample
	for seq := uint64(0); checked < int(c.count); seq++ {
		rs, err := db.LoadResults(ctx, runID, []uint64{seq})
		if err != nil {
			return checked, nil, err
		}
		r := rs[0]
		for i := range r.Count {
			n, err := s.Next()
			if err != nil {
				return checked, nil, fmt.Errorf("batch %s holds more integers than were produced: %w", base.TaskID(runID, seq), err)
			}
			got, want := r.Bitstring(i), strconv.FormatInt(int64(n), 2)
			if got != want {
				return checked, nil, fmt.Errorf("batch %s row %d: %d converted to %s, want %s", base.TaskID(runID, seq), i, n, got, want)
			}
			if checked%(int(c.count)/5+1) == 0 {
				samples = append(samples, sample{n, got})
			}
			checked++
		}
	}
	return checked, samples, nil
}
