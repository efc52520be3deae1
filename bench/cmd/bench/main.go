// Command bench measures bitqueue end to end on a real Redis: a fleet of real
// worker processes, the producer's enqueue path, and the baselines the figures
// are read against — asynq's ceiling (the same fleet with an empty handler),
// a bare asynq.Server's, the peers (Celery and a Python process pool, run on
// the same integers against the same Redis) and the anti-pattern of shipping
// the cache in every task — and the producer binary's peak memory. It can
// measure an idle fleet's cost to Redis and its pickup latency, sweep batch
// sizes and fleet sizes (with Celery at each cell), check the
// capacity model on a Redis Cluster, draw the sweep, and rewrite the figures
// section of BENCHMARKS.md.
//
// "bench worker --handler empty|shipped|bare" is a baseline worker process;
// the benchmark starts those itself.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"bitqueue/bench/internal/config"
	"bitqueue/bench/internal/report"
	"bitqueue/bench/internal/suite"
	"bitqueue/bench/peers"
	"bitqueue/internal/cli"
)

func main() { cli.Main("bench", run) }

// settings are the command's flags: the benchmark's options and where its
// figures go.
type settings struct {
	opts     config.Options
	markdown string
	chart    string
	readme   string       // README.md, whose startup hook figures are rewritten
	worker   *workerFlags // the command is `bench worker`: the rest is unset
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c, err := parse(args, getenv, stdout)
	if err != nil {
		return err
	}
	if c.worker != nil {
		return runWorker(ctx, *c.worker, stderr)
	}
	c.opts.Progress = stderr
	if c.opts.Peers && c.opts.Only == "" {
		if err := peers.Check(); err != nil {
			return cli.Usagef("%v; or run with --peers=false, which leaves them out of the report", err)
		}
	}
	rep, err := suite.Run(ctx, c.opts)
	if err != nil {
		return err
	}
	command := "bench " + strings.Join(args, " ")
	switch c.opts.Only {
	case config.OnlyIdle:
		fmt.Fprint(stdout, rep.IdleMarkdown(strings.TrimSpace(command)))
		return nil
	case config.OnlyLatency:
		fmt.Fprint(stdout, rep.LatencySection())
		return nil
	}
	if c.chart != "" {
		if err := os.MkdirAll(filepath.Dir(c.chart), 0o755); err != nil {
			return err
		}
		if err := report.Chart(c.chart, rep); err != nil {
			return fmt.Errorf("chart: %w", err)
		}
		fmt.Fprintf(stderr, "chart written to %s\n", c.chart)
	}
	section := rep.Markdown(strings.TrimSpace(command), c.chart, c.markdown)
	fmt.Fprint(stdout, section)
	if c.markdown != "" {
		if err := report.UpdateMarkdown(c.markdown, section); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "figures written to %s\n", c.markdown)
	}
	if c.readme != "" && rep.Hook != nil {
		if err := report.UpdateBlock(c.readme, "hook", rep.Hook.HookBlock()); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "the startup hook's figures written to %s\n", c.readme)
	}
	return nil
}
