// Command producer enqueues integers into Redis in batches, one asynq task per
// batch, and can wait for their packed bit arrays and write them out.
package main

import (
	"context"
	"io"
	"time"

	"go.opentelemetry.io/otel/trace"

	"bitqueue/internal/cli"
	"bitqueue/internal/progress"
	"bitqueue/internal/redisconn"
	"bitqueue/internal/schedule"
	"bitqueue/internal/tracing"
)

func main() { cli.Main("producer", run) }

// defaultQueue is the queue of the producer's batches unless --queue says
// otherwise: the workers' default too.
const defaultQueue = "bits"

type config struct {
	redisURL    string
	redisFrom   string // where --redis came from, for messages: the URL may hold a password
	redisWait   time.Duration
	queue       string
	prefix      string
	count       uint64
	max         uint64
	seed        uint64
	seedSet     bool
	input       string
	batchSize   int
	runID       string
	wait        bool
	timeout     time.Duration
	lostAfter   time.Duration
	out         string
	maxRetry    int
	taskTimeout time.Duration
	recordTTL   time.Duration
	concurrency int
	logFormat   string
	logLevel    string
	retention   time.Duration
	sched       scheduled
	shards      int
	json        bool
	redisOpts   redisconn.Options // TLS settings and passwords; PoolSize is set at Open
	tracer      trace.Tracer      // of the run's spans; nil when tracing is off
}

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
		switch p.Command {
		case "status":
			return runStatus(ctx, ic, stdout, stderr)
		case "requeue":
			return runRequeue(ctx, ic, stdout, stderr)
		case "results":
			return runResults(ctx, ic, stdout, stderr)
		case "list":
			return runList(ctx, ic, stdout, stderr)
		case "delete":
			return runDelete(ctx, ic, stdout, stderr)
		}
	}
	c, err := f.config(p, getenv)
	if err != nil {
		return err
	}
	stderr = progress.Stderr(stderr, c.logFormat, getenv) // on a terminal, --wait's progress line stays below the logs
	log, err := c.redisSetup(0).Logger(stderr)
	if err != nil {
		return err
	}
	tr, err := tracing.Start(ctx, "producer", getenv, log)
	if err != nil {
		return err
	}
	defer tr.Stop(log) // sends the last spans
	if tr.On() {
		c.tracer = tr.Tracer()
	}
	if c.sched.spec != "" {
		return runScheduled(ctx, c, log, schedule.SystemClock{})
	}
	return runOnce(ctx, c, log, stdout, stderr)
}
