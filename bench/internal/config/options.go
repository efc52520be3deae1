// Package config holds what one run of the benchmark is asked to do: the
// fleet, the trials, the baselines and the sweep. The command fills it from
// its flags; the suite runs it; the report prints the settings it ran with.
package config

import (
	"io"
	"time"
)

// Options configure a benchmark. Zero durations and counts of the worker
// settings leave the worker's own defaults in force.
type Options struct {
	RedisURL    string // a Redis to use; empty: start RedisServer
	RedisServer string // redis-server binary
	Bin         string // directory of the worker and producer binaries
	// Self runs a baseline worker: Self plus baseline.Args(handler) must
	// start a process serving through internal/worker.Serve.
	Self []string

	Workers             int
	Count               uint64
	BatchSize           int
	Max                 uint64 // integers are drawn from [0, Max)
	Repeat              int
	WorkerConcurrency   int           // 0: the worker's default
	PollInterval        time.Duration // 0: the worker's default
	WorkerFlags         []string      // more flags for the production worker only
	ProducerConcurrency int

	IdleSamples  int
	ShippedCount uint64 // integers through the anti-pattern; 0 skips it
	FileCount    uint64 // integers in the producer's input file; 0 skips it

	// Peers runs Celery and the Python process pool on the same integers,
	// W and Redis at each of PeerBatches; SweepPeers also runs Celery at
	// every cell of the sweep.
	Peers       bool
	PeerBatches []int
	SweepPeers  bool
	// ProducerMemory measures the producer binary's peak RSS, enqueueing
	// only, at each of ProducerMemoryRuns.
	ProducerMemory     bool
	ProducerMemoryRuns []CountBatch

	// Cluster checks the capacity model on a three-master Redis Cluster.
	Cluster bool

	// Latency are the round-trip times the latency scenario adds between
	// the workers and Redis, through a latency proxy, besides the proxy
	// with nothing added; empty skips the scenario. It runs the pipeline
	// at each of LatencyLoops (worker --loops; the first is the
	// reference) times each of LatencyConcurrency (worker --concurrency;
	// the first is the reference unless WorkerConcurrency is set), on
	// LatencyCount integers, LatencyRepeat trials per cell.
	Latency            []time.Duration
	LatencyLoops       []int
	LatencyConcurrency []int
	LatencyCount       uint64
	LatencyRepeat      int
	// IdleWorkers is the size of the idle fleet measured on a redis-server
	// of its own (0 skips it): Redis's cost per idle worker over IdleWindow,
	// then the pickup latency of IdleProbes batches sent one at a time, and
	// a lone idle worker's pickup of LoneProbes batches sent without a
	// wake-up.
	IdleWorkers int
	IdleWindow  time.Duration
	// IdleAdded workers join the idle fleet for a second window; Redis's
	// cost per idle worker is what they add, over them (0: against the
	// baseline alone).
	IdleAdded  int
	IdleProbes int
	LoneProbes int
	// Only, when set, runs that part alone: OnlyIdle or OnlyLatency.
	Only string

	Sweep        bool
	SweepBatches []int
	SweepWorkers []int
	SweepRepeat  int

	Profile      bool   // collect a worker CPU profile (needs the go tool)
	ProfileDir   string // where profiles are kept; empty: a temporary directory
	TrialTimeout time.Duration
	Progress     io.Writer
}

// Values of Only: the part of the benchmark run alone.
const (
	OnlyIdle    = "idle"    // the idle fleet
	OnlyLatency = "latency" // the latency scenario
)

// CountBatch is an input size and a batch size the producer runs with.
type CountBatch struct {
	Count uint64
	Batch int
}
