package suite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"bitqueue/bench/internal/measure"
	"bitqueue/bench/internal/report"
	"bitqueue/bench/internal/trial"
	"bitqueue/bench/peers"
)

// peerInput is the file of integers the peers read: the first Opts.Count of
// the seed every bitqueue trial draws from, so that both convert the same
// integers.
type peerInput struct {
	dir, path string
}

func newPeerInput(e *trial.Env) (*peerInput, error) {
	dir, err := os.MkdirTemp("", "bitqueue-bench-peers-")
	if err != nil {
		return nil, err
	}
	in := &peerInput{dir: dir, path: filepath.Join(dir, "numbers.txt")}
	if err := writeNumbers(in.path, e.Seed, e.Opts.Count, e.Opts.Max); err != nil {
		in.Close()
		return nil, err
	}
	return in, nil
}

// Close removes the file.
func (in *peerInput) Close() { os.RemoveAll(in.dir) }

// peerNames are the peers as the report names them.
var peerNames = map[string]string{
	peers.Celery: "Celery (prefork pool, Redis broker, cache built once per process)",
	peers.Pool:   "Python multiprocessing.Pool (cache built once per process by its initializer)",
}

// runPeer runs peer with w processes in batches of batch on in, against the
// run's Redis, and returns its row.
func runPeer(ctx context.Context, e *trial.Env, in *peerInput, peer string, w, batch int) (report.PeerRow, error) {
	// Keyspace events off: nothing follows the peers' results but the
	// peers themselves, and the events would cost Redis and this process.
	if err := e.Events.Set(ctx, ""); err != nil {
		return report.PeerRow{}, err
	}
	res, err := peers.Run(ctx, peers.Config{
		Peer: peer, RedisURL: e.URL, Workers: w, BatchSize: batch, Numbers: in.path,
		Prefix: e.Prefix, RunID: e.NextRunID() + "-" + peer, Timeout: e.Opts.TrialTimeout,
	})
	if err != nil {
		return report.PeerRow{}, fmt.Errorf("peer %s W=%d B=%d: %w", peer, w, batch, err)
	}
	name := peerNames[peer]
	if v := strings.TrimSpace(res.Versions); v != "" {
		name += "; " + v
	}
	row := report.PeerRow{Peer: peer, Name: name, Workers: w, Batch: batch, Ints: uint64(res.Ints), Wall: res.Wall, CPU: res.CPU}
	fmt.Fprintf(e.Log, "  %-15s W=%d B=%-6d %9d ints in %8s: %6.2f M ints/s (CPU %s)\n",
		peer, w, batch, res.Ints, res.Wall.Round(time.Millisecond), row.IntsPerSec()/1e6, res.CPU.Round(time.Millisecond))
	return row, nil
}

// peerCells measures, at each of Opts.PeerBatches, bitqueue (when neither the
// main cell nor the sweep will) and then both peers, at the main cell's W.
func peerCells(ctx context.Context, e *trial.Env, in *peerInput, rep *report.Report) error {
	o := e.Opts
	var extra []int
	for _, b := range o.PeerBatches {
		inSweep := o.Sweep && slices.Contains(o.SweepBatches, b) && slices.Contains(o.SweepWorkers, o.Workers)
		if b != o.BatchSize && !inSweep && !slices.Contains(extra, b) {
			extra = append(extra, b)
		}
	}
	if len(extra) > 0 {
		fmt.Fprintf(e.Log, "bitqueue at the peers' batch sizes %v: W=%d N=%d, %d repeats\n", extra, o.Workers, o.Count, o.Repeat)
		q, err := e.Queue(ctx, "peerb-bits")
		if err != nil {
			return err
		}
		f, err := e.StartFleet(ctx, measure.KindBits, q, o.Workers, nil)
		if err != nil {
			return err
		}
		defer f.Stop()
		for _, b := range extra {
			if err := e.WarmUpOne(ctx, measure.KindBits, q, f, b); err != nil {
				return err
			}
			c := measure.Cell{Workers: o.Workers, Batch: b}
			for range o.Repeat {
				t, _, err := e.Run(ctx, measure.KindBits, q, f, o.Count, b, false)
				if err != nil {
					return err
				}
				c.Bits = append(c.Bits, t)
			}
			rep.Extra = append(rep.Extra, c)
		}
		f.Stop()
	}
	fmt.Fprintf(e.Log, "peers: W=%d N=%d at B=%v, same integers, same Redis\n", o.Workers, o.Count, o.PeerBatches)
	for _, b := range o.PeerBatches {
		for _, peer := range []string{peers.Celery, peers.Pool} {
			row, err := runPeer(ctx, e, in, peer, o.Workers, b)
			if err != nil {
				return err
			}
			rep.Peers = append(rep.Peers, row)
		}
	}
	return nil
}

// sweepPeers runs Celery at every W and B of the sweep.
func sweepPeers(ctx context.Context, e *trial.Env, in *peerInput, rep *report.Report) error {
	fmt.Fprintf(e.Log, "sweep: Celery at W=%v, B=%v\n", e.Opts.SweepWorkers, e.Opts.SweepBatches)
	for _, w := range e.Opts.SweepWorkers {
		for _, b := range e.Opts.SweepBatches {
			row, err := runPeer(ctx, e, in, peers.Celery, w, b)
			if err != nil {
				return err
			}
			rep.SweepPeers = append(rep.SweepPeers, row)
		}
	}
	return nil
}
