package suite

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"bitqueue/bench/internal/capacity"
	"bitqueue/bench/internal/fleet"
	"bitqueue/bench/internal/measure"
	"bitqueue/bench/internal/redisstat"
	"bitqueue/bench/internal/report"
	"bitqueue/bench/internal/trial"
	"bitqueue/internal/base"
	"bitqueue/internal/input"
	"bitqueue/internal/rdb"
	"bitqueue/redistest"
)

// clusterMasters is the size of the cluster the model is checked on.
const clusterMasters = 3

// clusterRuns is how many runs of the main configuration the cluster
// serves; the check adds them up.
const clusterRuns = 2

// clusterCell checks the capacity model of docs/scaling.md. It runs the main
// cell's W, N and B on a Redis Cluster of three masters, the batches spread
// over as many shards as masters, and records each master's Redis CPU over
// the run and the batches whose keys it holds. Then it calibrates the model
// on one master at a time, a one-master cluster and the benchmark's own
// Redis: the same W, N and B at full speed and paced at one and two times
// the cluster's rate per master. Every run goes through the producer's code
// path in this process, to worker binaries, with no keyspace events.
func clusterCell(ctx context.Context, e *trial.Env, rep *report.Report) error {
	o := e.Opts
	cc := &report.ClusterCheck{Shards: clusterMasters, Workers: o.Workers, Batch: o.BatchSize, Ints: o.Count, Batches: base.Batches(o.Count, o.BatchSize)}
	fmt.Fprintf(e.Log, "cluster: %d masters, --shards %d, W=%d N=%d B=%d\n", clusterMasters, clusterMasters, o.Workers, o.Count, o.BatchSize)
	if err := clusterRun(ctx, e, cc); err != nil {
		return err
	}
	perMaster := float64(cc.Runs*cc.Batches) / clusterMasters / cc.Span.Seconds()
	rates := []float64{0, perMaster, 2 * perMaster, 0, perMaster}

	fmt.Fprintf(e.Log, "model on a one-master cluster: full speed and paced at %.0f and %.0f batches/s\n", perMaster, 2*perMaster)
	one, err := oneMaster(ctx)
	if err != nil {
		return err
	}
	defer one.close()
	cc.OneMaster = report.Calibration{Redis: "a one-master cluster (" + one.addrs[0] + ")"}
	if cc.OneMaster.Points, err = calibrate(ctx, e, one, e.ID+"-model1", rates); err != nil {
		return fmt.Errorf("one-master cluster: %w", err)
	}
	one.close()

	fmt.Fprintf(e.Log, "model on the benchmark's Redis: full speed and paced at %.0f and %.0f batches/s\n", perMaster, 2*perMaster)
	if err := e.Events.Set(ctx, ""); err != nil { // no keyspace events: the cluster has none
		return err
	}
	q, err := e.Queue(ctx, "model")
	if err != nil {
		return err
	}
	plain := &target{url: e.URL, client: e.Admin, nodes: []redis.UniversalClient{e.Admin}, addrs: []string{e.Redis}}
	cc.Plain = report.Calibration{Redis: "the benchmark's Redis, not in cluster mode"}
	if cc.Plain.Points, err = calibrate(ctx, e, plain, q, rates); err != nil {
		return fmt.Errorf("plain master: %w", err)
	}
	rep.Cluster = cc
	return nil
}

// clusterRun runs the main cell on a three-master cluster and fills cc's
// masters and span.
func clusterRun(ctx context.Context, e *trial.Env, cc *report.ClusterCheck) error {
	c, err := redistest.NewCluster(clusterMasters, "")
	if err != nil {
		return err
	}
	defer c.Close()
	cl := redis.NewClusterClient(&redis.ClusterOptions{Addrs: strings.Split(c.Addrs(), ","), PoolSize: e.Opts.ProducerConcurrency + 2})
	defer cl.Close()
	t := &target{url: "redis-cluster://" + c.Addrs(), client: cl}
	for _, n := range c.Nodes {
		nc := n.Client()
		defer nc.Close()
		t.nodes, t.addrs = append(t.nodes, nc), append(t.addrs, n.Addr)
	}
	q, err := spreadQueue(ctx, cl, e.ID+"-cluster", clusterMasters)
	if err != nil {
		return err
	}
	f, err := t.fleet(ctx, e, q, clusterMasters)
	if err != nil {
		return err
	}
	defer f.Stop()
	p := t.producer(e, q, clusterMasters)
	// Warm up: connections, scripts loaded on every master.
	if _, err := t.serve(ctx, e, p, f, min(e.Opts.Count, uint64(100*e.Opts.BatchSize)), 0); err != nil {
		return err
	}
	for range clusterRuns {
		s, err := t.serve(ctx, e, p, f, e.Opts.Count, 0)
		if err != nil {
			return err
		}
		at, err := keysAt(ctx, cl, p, e.Prefix, s.runID, s.batches)
		if err != nil {
			return err
		}
		cc.Runs++
		cc.Span += s.span
		if cc.Masters == nil {
			cc.Masters = make([]report.ClusterMaster, len(t.addrs))
		}
		for i, addr := range t.addrs {
			m := &cc.Masters[i]
			m.Addr = addr
			m.CPU += s.cpu[i]
			m.Reads += s.reads[i]
			m.Commands = addCommands(m.Commands, s.cmds[i])
			m.Tasks, m.Results, m.Marks = m.Tasks+at[addr].tasks, m.Results+at[addr].results, m.Marks+at[addr].marks
			fmt.Fprintf(e.Log, "  master %s: %s CPU in %s; holds %d tasks, %d results, %d done marks\n",
				addr, s.cpu[i].Round(time.Millisecond), s.span.Round(time.Millisecond), at[addr].tasks, at[addr].results, at[addr].marks)
		}
	}
	return nil
}

// addCommands adds b's calls and times to a's, a allocated when nil.
func addCommands(a, b map[string]redisstat.CmdStat) map[string]redisstat.CmdStat {
	if a == nil {
		a = map[string]redisstat.CmdStat{}
	}
	for k, v := range b {
		s := a[k]
		s.Calls += v.Calls
		s.Usec += v.Usec
		a[k] = s
	}
	return a
}

// spreadQueue returns the first of queue, queue-1, queue-2, … whose shards'
// queues fall on as many different masters as there are shards, so that
// the check runs the case the model describes (shards spread evenly); a
// queue's master follows from the hash slot of its name.
func spreadQueue(ctx context.Context, cl *redis.ClusterClient, queue string, shards int) (string, error) {
	for k := range 1000 {
		q := queue
		if k > 0 {
			q = queue + "-" + strconv.Itoa(k)
		}
		masters := map[string]bool{}
		for _, sq := range base.Queues(q, shards) {
			n, err := cl.MasterForKey(ctx, base.AsynqQueueKey(sq, "pending"))
			if err != nil {
				return "", err
			}
			masters[n.Options().Addr] = true
		}
		if len(masters) == shards {
			return q, nil
		}
	}
	return "", fmt.Errorf("no queue name %s-<k> of 1000 spreads its %d shards over as many masters", queue, shards)
}

// held counts the keys of a run's batches one master holds.
type held struct{ tasks, results, marks int }

// keysAt says, by master address, whose keys of run runID's batches each
// master holds: its task's queue, its result key, the run's done bitmap.
func keysAt(ctx context.Context, cl *redis.ClusterClient, p trial.Producer, prefix, runID string, batches int) (map[string]held, error) {
	at := map[string]held{}
	addr := func(key string) (string, error) {
		n, err := cl.MasterForKey(ctx, key)
		if err != nil {
			return "", fmt.Errorf("master of %s: %w", key, err)
		}
		return n.Options().Addr, nil
	}
	done, err := addr(base.DoneKey(prefix, runID))
	if err != nil {
		return nil, err
	}
	for seq := range uint64(batches) {
		qa, err := addr(base.AsynqQueueKey(p.QueueOf(runID, seq), "pending"))
		if err != nil {
			return nil, err
		}
		ra, err := addr(base.ResultKey(prefix, runID, seq))
		if err != nil {
			return nil, err
		}
		h := at[qa]
		h.tasks++
		at[qa] = h
		h = at[ra]
		h.results++
		at[ra] = h
	}
	h := at[done]
	h.marks += batches
	at[done] = h
	return at, nil
}

// oneMaster starts a Redis Cluster of one master holding every slot.
func oneMaster(ctx context.Context) (*target, error) {
	s, err := redistest.NewServer(redistest.Options{Cluster: true})
	if err != nil {
		return nil, err
	}
	nc := s.Client()
	t := &target{url: "redis-cluster://" + s.Addr, nodes: []redis.UniversalClient{nc}, addrs: []string{s.Addr}}
	t.closers = append(t.closers, s.Close, func() { nc.Close() })
	if err := nc.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", 0, 16383).Err(); err != nil {
		t.close()
		return nil, fmt.Errorf("CLUSTER ADDSLOTSRANGE on %s: %w", s.Addr, err)
	}
	if err := redistest.Await(redistest.StartTimeout, "one-master cluster ok", func() bool {
		info, err := nc.ClusterInfo(ctx).Result()
		return err == nil && strings.Contains(info, "cluster_state:ok")
	}); err != nil {
		t.close()
		return nil, err
	}
	cl := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{s.Addr}})
	t.client = cl
	t.closers = append([]func(){func() { cl.Close() }}, t.closers...)
	return t, nil
}

// calibrate runs the main cell on t's single master once at each of rates
// (batches/s; 0: full speed) and returns the points the model is fitted on.
func calibrate(ctx context.Context, e *trial.Env, t *target, queue string, rates []float64) ([]capacity.Point, error) {
	f, err := t.fleet(ctx, e, queue, 1)
	if err != nil {
		return nil, err
	}
	defer f.Stop()
	p := t.producer(e, queue, 1)
	if _, err := t.serve(ctx, e, p, f, min(e.Opts.Count, uint64(100*e.Opts.BatchSize)), 0); err != nil {
		return nil, err
	}
	var points []capacity.Point
	for _, r := range rates {
		s, err := t.serve(ctx, e, p, f, e.Opts.Count, r)
		if err != nil {
			return nil, err
		}
		pt := capacity.Point{Paced: r, Batches: s.batches, Span: s.span, CPU: s.cpu[0], Reads: s.reads[0], Commands: s.cmds[0]}
		points = append(points, pt)
		fmt.Fprintf(e.Log, "  %s: %d batches in %s (%.0f batches/s): Redis CPU %s, %.0f µs per batch\n",
			pace(r), s.batches, s.span.Round(time.Millisecond), pt.Rate(), pt.CPU.Round(time.Millisecond), pt.PerBatch())
	}
	return points, nil
}

func pace(rate float64) string {
	if rate == 0 {
		return "full speed"
	}
	return fmt.Sprintf("paced at %.0f/s", rate)
}

// target is a Redis the model's runs are served by: the URL the workers get,
// a client that reaches every master, one client per master for its INFO.
type target struct {
	url     string
	client  redis.UniversalClient
	nodes   []redis.UniversalClient
	addrs   []string
	closers []func()
}

func (t *target) close() {
	for _, c := range t.closers {
		c()
	}
	t.closers = nil
}

// fleet starts W production workers on t serving queue in shards.
func (t *target) fleet(ctx context.Context, e *trial.Env, queue string, shards int) (*fleet.Fleet, error) {
	return e.StartFleetAt(ctx, t.url, measure.KindBits, queue, e.Opts.Workers, func(int) []string {
		return []string{"--shards", strconv.Itoa(shards)}
	})
}

// producer is the producer's code path on t, as the benchmark's trials run
// it.
func (t *target) producer(e *trial.Env, queue string, shards int) trial.Producer {
	return trial.NewProducer(rdb.New(t.client, e.Prefix), queue, shards, e.Opts.BatchSize, e.Opts.ProducerConcurrency)
}

// served is what one run cost each master of a target.
type served struct {
	runID   string
	batches int
	span    time.Duration // CPU read before the first enqueue → after every batch was seen done
	cpu     []time.Duration
	reads   []int64
	cmds    []map[string]redisstat.CmdStat
}

// reading is each master's counters at one moment.
type reading struct {
	at    time.Time
	cpu   []time.Duration
	reads []int64
	cmds  []map[string]redisstat.CmdStat
}

func (t *target) read(ctx context.Context) (reading, error) {
	r := reading{at: time.Now()}
	for _, n := range t.nodes {
		cpu, err := redisstat.CPU(ctx, n)
		if err != nil {
			return r, err
		}
		st, err := redisstat.Info(ctx, n, "stats")
		if err != nil {
			return r, err
		}
		reads, err := strconv.ParseInt(st["total_reads_processed"], 10, 64)
		if err != nil {
			return r, fmt.Errorf("INFO stats total_reads_processed=%q: %w", st["total_reads_processed"], err)
		}
		cmds, err := redisstat.CommandStats(ctx, n)
		if err != nil {
			return r, err
		}
		r.cpu, r.reads, r.cmds = append(r.cpu, cpu), append(r.reads, reads), append(r.cmds, cmds)
	}
	return r, nil
}

// serve enqueues n random integers through p, paced at rate batches/s
// (0: full speed), and waits until every batch is marked done; it returns
// what the run cost each master. The results are left to their TTL, except
// on the benchmark's own Redis, where they are deleted.
func (t *target) serve(ctx context.Context, e *trial.Env, p trial.Producer, f *fleet.Fleet, n uint64, rate float64) (served, error) {
	id := e.NextRunID()
	var src input.Source = input.Random(e.Seed, n, e.Opts.Max)
	if rate > 0 {
		src = paced{Source: src, batch: p.BatchSize, rate: rate}
	}
	wctx, cancel := context.WithTimeout(ctx, e.Opts.TrialTimeout)
	defer cancel()
	before, err := t.read(wctx)
	if err != nil {
		return served{}, err
	}
	rec, err := p.Enqueue(wctx, id, src, n)
	if err != nil {
		return served{}, fmt.Errorf("enqueue run %s: %w", id, err)
	}
	if err := p.Wait(wctx, rec); err != nil {
		if aerr := f.Alive(); aerr != nil {
			return served{}, aerr
		}
		return served{}, err
	}
	after, err := t.read(wctx)
	if err != nil {
		return served{}, err
	}
	s := served{runID: id, batches: rec.Batches, span: after.at.Sub(before.at)}
	for i := range t.nodes {
		s.cpu = append(s.cpu, after.cpu[i]-before.cpu[i])
		s.reads = append(s.reads, after.reads[i]-before.reads[i])
		s.cmds = append(s.cmds, redisstat.DiffCommands(before.cmds[i], after.cmds[i]))
	}
	if t.client == e.Admin {
		e.DeleteResults(ctx, id, rec.Batches)
	}
	return s, nil
}
