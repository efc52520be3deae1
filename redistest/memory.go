package redistest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// LimitMemory sets the server's maxmemory to what it uses now plus headroom
// bytes, with the noeviction policy: writes fail with an OOM reply once the
// headroom is used up. LimitMemory(ctx, -1) lifts the limit (maxmemory 0).
func (s *Server) LimitMemory(ctx context.Context, headroom int64) error {
	c := s.Client()
	defer c.Close()
	if headroom < 0 {
		return c.ConfigSet(ctx, "maxmemory", "0").Err()
	}
	v, err := s.Info(ctx, "memory", "used_memory")
	if err != nil {
		return err
	}
	used, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return fmt.Errorf("INFO used_memory %q: %w", v, err)
	}
	if err := c.ConfigSet(ctx, "maxmemory-policy", "noeviction").Err(); err != nil {
		return err
	}
	return c.ConfigSet(ctx, "maxmemory", strconv.FormatInt(used+headroom, 10)).Err()
}

// fillValue is the size of each key Fill writes.
const fillValue = 16 << 10

// Fill writes new keys of 16 KiB under "redistest:fill:" until Redis refuses
// a write for want of memory, and returns how many it wrote. Redis checks
// its memory before each write, so a later Fill may still write a few keys
// into what closing a connection freed. The server needs a
// maxmemory (Options.MaxMemory or LimitMemory); Fill gives up after 1 GiB.
func (s *Server) Fill(ctx context.Context) (int, error) {
	c := s.Client()
	defer c.Close()
	value := strings.Repeat("x", fillValue)
	for n := 0; n < (1<<30)/fillValue; n++ {
		err := c.Set(ctx, "redistest:fill:"+strconv.Itoa(s.filled), value, 0).Err()
		if err == nil {
			s.filled++
		} else {
			if strings.Contains(err.Error(), "OOM ") {
				return n, nil
			}
			return n, err
		}
	}
	return 0, errors.New("1 GiB written and Redis still accepts writes: is maxmemory set?")
}

// Unfill deletes the keys Fill wrote.
func (s *Server) Unfill(ctx context.Context) error {
	c := s.Client()
	defer c.Close()
	iter := c.Scan(ctx, 0, "redistest:fill:*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return err
	}
	for i := 0; i < len(keys); i += 1000 {
		if err := c.Del(ctx, keys[i:min(i+1000, len(keys))]...).Err(); err != nil {
			return err
		}
	}
	return nil
}
