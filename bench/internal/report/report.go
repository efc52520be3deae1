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

	"bitqueue/bench/internal/capacity"
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
	// ShareBatch is the batch size, besides the main one, at which the
	// share of the ceiling is held to TargetRatio (the sweep's cell at the
	// main W) and the workers are profiled.
	ShareBatch = 10_000
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
	Cluster *ClusterCheck
	// Latency is the scenario of a fleet across hosts (workers behind a
	// latency proxy), nil unless the benchmark ran it.
	Latency    *Latency
	Profile    string // top of a worker's CPU profile
	ProfileErr string
	// Attribution is what the workers' CPU profiles attribute to bitqueue's
	// own code, per batch: one per profiled batch size, the main one then
	// ShareBatch; none unless the benchmark ran with --profile.
	Attribution []measure.Attribution
	// Hook compares the startup hook's cache with math/bits, nil unless the
	// benchmark ran with --profile (both need the go tool).
	Hook  *Hook
	Sweep []measure.Cell

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

// ClusterCheck is the check of the capacity model (package capacity): the
// main configuration run on a Redis Cluster, the batches spread over Shards
// queues, with what each master spent and holds, and the runs on one master
// the model is calibrated on.
type ClusterCheck struct {
	Shards, Workers, Batch int
	Ints                   uint64
	Batches                int           // of one run
	Runs                   int           // runs of Batches batches each, added up below
	Span                   time.Duration // of the runs: CPU read before the first enqueue → after the last batch was seen done
	Masters                []ClusterMaster
	// OneMaster is the calibration on a cluster of one master, the model
	// the masters are checked against; Plain the same runs on a Redis not
	// in cluster mode, which shows what cluster mode costs.
	OneMaster, Plain Calibration
}

// Total is the batches of every run.
func (c *ClusterCheck) Total() int { return max(c.Runs, 1) * c.Batches }

// ClusterMaster is what one master of the cluster spent over the runs, and
// the keys of the runs' batches it holds: Tasks whose queue, Results whose
// result key, Marks in the run's done bitmap.
type ClusterMaster struct {
	Addr                  string
	CPU                   time.Duration                // INFO cpu over the run
	Reads                 int64                        // INFO stats total_reads_processed over the run
	Commands              map[string]redisstat.CmdStat // INFO commandstats over the run
	Tasks, Results, Marks int
}

// Calibration is the main configuration run on one master at several rates.
type Calibration struct {
	Redis  string // what the runs were served by
	Points []capacity.Point
}

// Fit is the model fitted on the calibration's points.
func (c Calibration) Fit() (capacity.Fit, error) { return capacity.FitPoints(c.Points) }

// FitText is the fit as the report prints it: F in ms of CPU per second
// and c in µs per batch, F and c cells of a table, or why there is none.
func (c Calibration) FitText() string {
	f, err := c.Fit()
	if err != nil {
		return "no fit: " + err.Error() + " |"
	}
	return fmt.Sprintf("%.1f ms/s | %.0f µs", 1e3*f.Fixed, 1e6*f.PerBatch)
}

// Trips are the requests per batch of the calibration's runs at full speed,
// by where their keys live.
func (c Calibration) Trips() capacity.Trips {
	cmds := map[string]redisstat.CmdStat{}
	batches := 0
	for _, p := range c.Points {
		if p.Paced > 0 {
			continue
		}
		batches += p.Batches
		for k, v := range p.Commands {
			s := cmds[k]
			s.Calls += v.Calls
			s.Usec += v.Usec
			cmds[k] = s
		}
	}
	return capacity.TripsOf(cmds, batches)
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

// Share is the batches' worth of work the master does (capacity.Trips.Share).
func (m ClusterMaster) Share(t capacity.Trips) float64 { return t.Share(m.Tasks, m.Results, m.Marks) }
