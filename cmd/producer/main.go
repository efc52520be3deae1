// Command producer enqueues integers into Redis in batches, one asynq task per
// batch, and can wait for their packed bit arrays and write them out.
package main

import (
	"context"
	"io"

	"bitqueue/internal/cli"
	"bitqueue/internal/progress"
	"bitqueue/internal/schedule"
	"bitqueue/internal/tracing"
)

func main() { cli.Main("producer", run) }

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f, p, err := parseArgs(args, getenv, stdout)
	if err != nil {
		return err
	}
	if p.Command != "" {
		ic, err := f.inspectConfig(p, getenv)
		if err != nil {
			return err
		}
		inspect := map[string]func(context.Context, inspectConfig, io.Writer, io.Writer) error{
			"status": runStatus, "requeue": runRequeue, "results": runResults, "list": runList, "delete": runDelete,
		}
		return inspect[p.Command](ctx, ic, stdout, stderr)
	}
	c, err := f.config(p, getenv)
	if err != nil {
		return err
	}
	stderr = progress.Stderr(stderr, c.Log.Format, getenv) // on a terminal, --wait's progress line stays below the logs
	log, err := c.setup(0).Logger(stderr)
	if err != nil {
		return err
	}
	tr, err := tracing.Start(ctx, "producer", getenv, log)
	if err != nil {
		return err
	}
	defer tr.Stop(log) // sends the last spans
	c.tracing = tr
	if c.sched != nil {
		return runScheduled(ctx, c, log, schedule.SystemClock{})
	}
	return runOnce(ctx, c, log, stdout, stderr)
}
