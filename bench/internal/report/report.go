// Package report renders what one benchmark run measured: the generated
// section of BENCHMARKS.md (from the template report.md.tmpl) and the chart
// of the sweep.
package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"bitqueue/bench/internal/config"
	"bitqueue/bench/internal/host"
	"bitqueue/bench/internal/measure"
	"bitqueue/bench/internal/redisstat"
)

// Targets of issues 3 and 12, on a 2-core machine with Redis beside the
// fleet.
const (
	TargetIntsPerSec = 10e6
	TargetRatio      = 0.90
	TargetIdleP50    = 50 * time.Millisecond
	TargetIdleP99    = 200 * time.Millisecond
	TargetReady      = 50 * time.Millisecond
	TargetRSS        = 48 << 20
	TargetMemory     = 1.3 // × the packed bits stored
	TargetProducer   = 250 * time.Millisecond
	// TargetBare is the ceiling of the worker's set-up over a bare
	// asynq.Server's: at least this, so that the set-up costs nothing
	// beyond the noise of a trial.
	TargetBare = 0.95
)

// Targets of issue 12: bitqueue's throughput over Celery's at the same W and
// B, on the same integers and Redis, by batch size.
var TargetCelery = map[int]float64{1000: 15, 10_000: 40}

// Report is everything one benchmark run measured.
type Report struct {
	Started time.Time
	Took    time.Duration
	Machine host.Machine
	Redis   string // "redis-server 7.x started by the benchmark" or the URL
	Opts    config.Options
	Main    measure.Cell
	Idle    []time.Duration // enqueue → result seen, one batch at a time
	Ready   []time.Duration // worker processes of the main fleet
	// ReadyParts are, for each, the cache build and Serve's start as logged.
	ReadyParts  [][2]time.Duration
	PeakRSS     []int64 // VmHWM of the main fleet's processes, bytes
	CacheBytes  int
	Memory      measure.Memory
	Producer    []time.Duration // wall time of the producer binary on the file
	ProducerCPU []time.Duration // its CPU time (user + system), run by run
	Shipped     *measure.Trial
	// Peers are other ways to do the same job, measured in the same run
	// against the same Redis on the same integers; PeersSkipped says why
	// there are none.
	Peers        []PeerRow
	PeersSkipped string
	// SweepPeers are Celery's runs at the cells of the sweep.
	SweepPeers []PeerRow
	// Extra are bitqueue's cells at the peers' batch sizes that neither the
	// main cell nor the sweep measures (pipeline only).
	Extra []measure.Cell
	// ProducerRSS is the producer binary's peak RSS enqueueing random
	// integers with no worker, one row per input and batch size; MaxCount
	// is the most integers one run takes (input.MaxCount).
	ProducerRSS []ProducerRSS
	MaxCount    uint64
	// Cluster is the check of the capacity model on a three-master Redis
	// Cluster, nil unless the benchmark ran with --cluster.
	Cluster    *ClusterCheck
	Profile    string // top of a worker's CPU profile
	ProfileErr string
	Sweep      []measure.Cell

	// IdleFleet is what an idle fleet cost a Redis of its own and how soon
	// it picked work up; nil when not measured.
	IdleFleet *IdleFleet
}

// PeerRow is one measured run of another way to do the job (a Celery worker
// pool, a Python process pool): the same random integers, converted and
// stored in the same Redis as packed bits, by Workers processes in batches
// of Batch.
type PeerRow struct {
	Peer    string // peers.Celery or peers.Pool
	Name    string // what ran, as the report names it
	Workers int
	Batch   int
	Ints    uint64
	Wall    time.Duration // first batch sent → last result stored
	CPU     time.Duration // of the peer's processes (not Redis) over Wall
}

// ProducerRSS is one run of the producer binary enqueueing Count random
// integers in batches of Batch, into a queue no worker serves.
type ProducerRSS struct {
	Count   uint64
	Batch   int
	PeakRSS int64         // bytes: its VmHWM
	Wall    time.Duration // exec → exit
}

// IntsPerSec is the peer's throughput in integers.
func (p PeerRow) IntsPerSec() float64 { return float64(p.Ints) / p.Wall.Seconds() }

// Against returns bitqueue's median trial in the same configuration as p
// (the main cell's, an extra cell's, or the sweep cell's of the same worker
// count and batch size, in that order), and false when the run measured none.
func (r *Report) Against(p PeerRow) (measure.Trial, bool) {
	cells := append(append([]measure.Cell{r.Main}, r.Extra...), r.Sweep...)
	for _, c := range cells {
		if c.Workers == p.Workers && c.Batch == p.Batch && len(c.Bits) > 0 {
			return measure.Median(c.Bits), true
		}
	}
	return measure.Trial{}, false
}

// ClusterCheck is the main configuration run by the producer and worker
// binaries on a Redis Cluster, the batches spread over Shards queues, with
// each master's Redis CPU over the run.
type ClusterCheck struct {
	Shards, Workers, Batch int
	Ints                   uint64
	Batches                int
	Wall                   time.Duration // producer exec → exit, --wait included
	Masters                []ClusterMaster
}

// ClusterMaster is one master's Redis CPU (INFO cpu) over the run, and the
// part of it the idle fleet's polling would have cost in the same time.
type ClusterMaster struct {
	Addr      string
	CPU, Idle time.Duration
	Commands  map[string]redisstat.CmdStat // INFO commandstats over the run
}

// Calls is what the master ran over the run, per batch: its most called
// commands first (at most five, at least 0.01 a batch), as "evalsha 3.10".
func (m ClusterMaster) Calls(batches int) string {
	names := make([]string, 0, len(m.Commands))
	for k, v := range m.Commands {
		if float64(v.Calls)/float64(max(batches, 1)) >= 0.01 {
			names = append(names, k)
		}
	}
	slices.SortFunc(names, func(a, b string) int {
		return cmp.Or(cmp.Compare(m.Commands[b].Calls, m.Commands[a].Calls), cmp.Compare(a, b))
	})
	parts := make([]string, 0, 5)
	for _, k := range names[:min(5, len(names))] {
		parts = append(parts, fmt.Sprintf("%s %.2f", k, float64(m.Commands[k].Calls)/float64(max(batches, 1))))
	}
	return strings.Join(parts, ", ")
}

// PerBatch is the master's Redis CPU per batch of the run, in µs, less idle
// polling.
func (m ClusterMaster) PerBatch(batches int) float64 {
	return float64((m.CPU - m.Idle).Microseconds()) / float64(max(batches, 1))
}

// SumPerBatch is the Redis CPU per batch of every master together, in µs,
// less idle polling.
func (c *ClusterCheck) SumPerBatch() float64 {
	var s float64
	for _, m := range c.Masters {
		s += m.PerBatch(c.Batches)
	}
	return s
}
