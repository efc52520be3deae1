package shard

import (
	"context"
	"fmt"
	"sort"

	"github.com/redis/go-redis/v9"
)

// Placement is where the queues of a sharded queue live in a Redis Cluster.
type Placement struct {
	// Queues maps each master's address to the queues it holds.
	Queues map[string][]string
	// Idle lists the masters that hold none of the queues, sorted.
	Idle []string
}

// Place finds the master of each queue in a Redis Cluster. asynq keeps all
// of a queue's keys under the hash tag {queue}, so a queue lives on the one
// master that serves that tag's slot, and only several queues spread work
// over several masters.
func Place(ctx context.Context, cc *redis.ClusterClient, queues []string) (Placement, error) {
	slots, err := cc.ClusterSlots(ctx).Result()
	if err != nil {
		return Placement{}, fmt.Errorf("cluster slots: %w", err)
	}
	p := Placement{Queues: map[string][]string{}}
	for _, s := range slots {
		if len(s.Nodes) > 0 {
			p.Queues[s.Nodes[0].Addr] = nil
		}
	}
	for _, q := range queues {
		slot, err := cc.ClusterKeySlot(ctx, "asynq:{"+q+"}:pending").Result()
		if err != nil {
			return Placement{}, fmt.Errorf("cluster keyslot of queue %s: %w", q, err)
		}
		found := false
		for _, s := range slots {
			if int64(s.Start) <= slot && slot <= int64(s.End) && len(s.Nodes) > 0 {
				addr := s.Nodes[0].Addr
				p.Queues[addr] = append(p.Queues[addr], q)
				found = true
				break
			}
		}
		if !found {
			return Placement{}, fmt.Errorf("queue %s: slot %d is served by no master", q, slot)
		}
	}
	for addr, qs := range p.Queues {
		if len(qs) == 0 {
			p.Idle = append(p.Idle, addr)
		}
	}
	sort.Strings(p.Idle)
	return p, nil
}
