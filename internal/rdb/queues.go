package rdb

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"bitqueue/internal/base"
)

// QueueInfo returns the state of queue, all zero when the queue does not
// exist yet (asynq reports that as an error of its own internal kind).
func (r *RDB) QueueInfo(queue string) (*asynq.QueueInfo, error) {
	insp := r.Inspector()
	info, err := insp.GetQueueInfo(queue)
	if err == nil {
		return info, nil
	}
	queues, qerr := insp.Queues()
	if qerr == nil && !slices.Contains(queues, queue) {
		return &asynq.QueueInfo{Queue: queue}, nil
	}
	return nil, fmt.Errorf("inspect queue %s: %w", queue, err)
}

// Workers returns how many worker processes serve at least one of queues:
// asynq's live servers, counted once per host and process id, since a
// worker process runs one asynq server per running dequeue loop.
func (r *RDB) Workers(queues []string) (int, error) {
	servers, err := r.Inspector().Servers()
	if err != nil {
		return 0, err
	}
	return processes(servers, queues), nil
}

// processes counts the processes (host and process id) of servers that
// serve at least one of queues.
func processes(servers []*asynq.ServerInfo, queues []string) int {
	type process struct {
		host string
		pid  int
	}
	seen := map[process]bool{}
	for _, s := range servers {
		for _, q := range queues {
			if _, ok := s.Queues[q]; ok {
				seen[process{s.Host, s.PID}] = true
				break
			}
		}
	}
	return len(seen)
}

// Placement is where the queues of a sharded queue live in a Redis Cluster.
type Placement struct {
	// Queues maps each master's address to the queues it holds.
	Queues map[string][]string
	// Idle lists the masters that hold none of the queues, sorted.
	Idle []string
}

// Place finds the master of each queue in a Redis Cluster, and reports
// false on any other Redis. asynq keeps all of a queue's keys under the
// hash tag {queue}, so a queue lives on the one master that serves that
// tag's slot, and only several queues spread work over several masters.
func (r *RDB) Place(ctx context.Context, queues []string) (Placement, bool, error) {
	cc, ok := r.client.(*redis.ClusterClient)
	if !ok {
		return Placement{}, false, nil
	}
	shards, err := cc.ClusterShards(ctx).Result()
	if err != nil {
		return Placement{}, true, fmt.Errorf("cluster shards: %w", err)
	}
	p := Placement{Queues: map[string][]string{}}
	type span struct {
		start, end int64
		addr       string
	}
	var spans []span
	for _, s := range shards {
		addr := ""
		for _, n := range s.Nodes {
			if n.Role == "master" {
				addr = fmt.Sprintf("%s:%d", n.Endpoint, n.Port)
				if n.Endpoint == "" || n.Endpoint == "?" {
					addr = fmt.Sprintf("%s:%d", n.IP, n.Port)
				}
			}
		}
		if addr == "" || len(s.Slots) == 0 {
			continue
		}
		p.Queues[addr] = nil
		for _, sl := range s.Slots {
			spans = append(spans, span{sl.Start, sl.End, addr})
		}
	}
	for _, q := range queues {
		slot, err := cc.ClusterKeySlot(ctx, base.AsynqQueueKey(q, "pending")).Result()
		if err != nil {
			return Placement{}, true, fmt.Errorf("cluster keyslot of queue %s: %w", q, err)
		}
		i := slices.IndexFunc(spans, func(s span) bool { return s.start <= slot && slot <= s.end })
		if i < 0 {
			return Placement{}, true, fmt.Errorf("queue %s: slot %d is served by no master", q, slot)
		}
		p.Queues[spans[i].addr] = append(p.Queues[spans[i].addr], q)
	}
	for addr, qs := range p.Queues {
		if len(qs) == 0 {
			p.Idle = append(p.Idle, addr)
		}
	}
	sort.Strings(p.Idle)
	return p, true, nil
}
