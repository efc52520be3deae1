package suite

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"bitqueue/bench/internal/fleet"
	"bitqueue/bench/internal/measure"
	"bitqueue/bench/internal/redisstat"
	"bitqueue/bench/internal/report"
	"bitqueue/bench/internal/trial"
	"bitqueue/redistest"
)

// clusterMasters is the size of the cluster the model is checked on.
const clusterMasters = 3

// clusterIdle is how long the idle fleet's polling is measured on the
// cluster before the run.
const clusterIdle = 3 * time.Second

// clusterCell checks the capacity model of docs/scaling.md: the main cell's
// W, N and B on a Redis Cluster of three masters, the batches spread over as
// many shards as masters, run by the producer and worker binaries. It
// records each master's Redis CPU over the run, less what the idle fleet's
// polling cost it (measured just before, over clusterIdle), per batch.
func clusterCell(ctx context.Context, e *trial.Env, rep *report.Report) error {
	o := e.Opts
	fmt.Fprintf(e.Log, "cluster: %d masters, --shards %d, W=%d N=%d B=%d\n", clusterMasters, clusterMasters, o.Workers, o.Count, o.BatchSize)
	c, err := redistest.NewCluster(clusterMasters, "")
	if err != nil {
		return err
	}
	defer c.Close()
	url := "redis-cluster://" + c.Addrs()
	clients := make([]*redis.Client, len(c.Nodes))
	for i, n := range c.Nodes {
		clients[i] = n.Client()
		defer clients[i].Close()
	}
	q := e.ID + "-cluster"
	shards := strconv.Itoa(clusterMasters)
	f, err := fleet.Start(ctx, measure.KindBits, o.Workers, func(int) []string {
		args := []string{filepath.Join(o.Bin, "worker"), "--redis", url, "--queue", q, "--shards", shards, "--prefix", e.Prefix,
			"--result-ttl", "30m", "--log-level", "info", "--log-format", "text", "--http-addr", "127.0.0.1:0"}
		if o.WorkerConcurrency > 0 {
			args = append(args, "--concurrency", strconv.Itoa(o.WorkerConcurrency))
		}
		if o.PollInterval > 0 {
			args = append(args, "--poll-interval", o.PollInterval.String())
		}
		return append(args, o.WorkerFlags...)
	}, 30*time.Second)
	if err != nil {
		return err
	}
	defer f.Stop()
	cpu := func() ([]time.Duration, error) {
		out := make([]time.Duration, len(clients))
		for i, cl := range clients {
			var err error
			if out[i], err = redisstat.CPU(ctx, cl); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	stats := func() ([]map[string]redisstat.CmdStat, error) {
		out := make([]map[string]redisstat.CmdStat, len(clients))
		for i, cl := range clients {
			var err error
			if out[i], err = redisstat.CommandStats(ctx, cl); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	producer := func(id string, n uint64) (time.Duration, error) {
		cmd := exec.CommandContext(ctx, filepath.Join(o.Bin, "producer"), "--redis", url, "--queue", q, "--shards", shards,
			"--prefix", e.Prefix, "--run-id", id, "--count", strconv.FormatUint(n, 10), "--max", strconv.FormatUint(o.Max, 10),
			"--batch-size", strconv.Itoa(o.BatchSize), "--wait", "--timeout", o.TrialTimeout.String(), "--log-level", "warn")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		if err := cmd.Run(); err != nil {
			return 0, fmt.Errorf("producer on the cluster: %v: %s", err, out.Bytes())
		}
		return time.Since(start), nil
	}
	// Warm up: connections, scripts loaded on every master.
	if _, err := producer(e.NextRunID(), min(o.Count, uint64(100*o.BatchSize))); err != nil {
		return err
	}
	c0, err := cpu()
	if err != nil {
		return err
	}
	time.Sleep(clusterIdle)
	c1, err := cpu()
	if err != nil {
		return err
	}
	s1, err := stats()
	if err != nil {
		return err
	}
	wall, err := producer(e.NextRunID(), o.Count)
	if err != nil {
		return err
	}
	c2, err := cpu()
	if err != nil {
		return err
	}
	s2, err := stats()
	if err != nil {
		return err
	}
	batches := int((o.Count + uint64(o.BatchSize) - 1) / uint64(o.BatchSize))
	cc := &report.ClusterCheck{Shards: clusterMasters, Workers: o.Workers, Batch: o.BatchSize, Ints: o.Count, Batches: batches, Wall: wall}
	for i, n := range c.Nodes {
		idle := time.Duration(float64(c1[i]-c0[i]) * float64(wall) / float64(clusterIdle))
		m := report.ClusterMaster{Addr: n.Addr, CPU: c2[i] - c1[i], Idle: idle, Commands: redisstat.DiffCommands(s1[i], s2[i])}
		cc.Masters = append(cc.Masters, m)
		fmt.Fprintf(e.Log, "  master %s: %s CPU in %s, of which idle polling ~%s: %.0f µs per batch\n",
			n.Addr, m.CPU.Round(time.Millisecond), wall.Round(time.Millisecond), idle.Round(time.Millisecond), m.PerBatch(batches))
	}
	rep.Cluster = cc
	return nil
}
