// Package redisstat reads what a Redis server says about itself during a
// benchmark: INFO sections, per-command statistics, CPU time and memory.
package redisstat

import (
	"bufio"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Info returns the fields of one INFO section.
func Info(ctx context.Context, c redis.UniversalClient, section string) (map[string]string, error) {
	raw, err := c.Info(ctx, section).Result()
	if err != nil {
		return nil, err
	}
	return parseInfo(raw), nil
}

func parseInfo(raw string) map[string]string {
	m := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(raw))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[k] = v
		}
	}
	return m
}

// CmdStat is one command's line of INFO commandstats.
type CmdStat struct {
	Calls int64
	Usec  int64 // total microseconds Redis spent executing it
}

// CommandStats returns INFO commandstats by command name.
func CommandStats(ctx context.Context, c redis.UniversalClient) (map[string]CmdStat, error) {
	m, err := Info(ctx, c, "commandstats")
	if err != nil {
		return nil, err
	}
	return commandStats(m), nil
}

func commandStats(m map[string]string) map[string]CmdStat {
	out := make(map[string]CmdStat, len(m))
	for k, v := range m {
		name, ok := strings.CutPrefix(k, "cmdstat_")
		if !ok {
			continue
		}
		var st CmdStat
		for f := range strings.SplitSeq(v, ",") {
			fk, fv, _ := strings.Cut(f, "=")
			n, _ := strconv.ParseInt(fv, 10, 64)
			switch fk {
			case "calls":
				st.Calls = n
			case "usec":
				st.Usec = n
			}
		}
		out[name] = st
	}
	return out
}

// DiffCommands returns, for each command called between two CommandStats
// readings, its calls and time in between.
func DiffCommands(before, after map[string]CmdStat) map[string]CmdStat {
	out := map[string]CmdStat{}
	for k, a := range after {
		d := CmdStat{Calls: a.Calls - before[k].Calls, Usec: a.Usec - before[k].Usec}
		if d.Calls > 0 {
			out[k] = d
		}
	}
	return out
}

// CPU returns the CPU time the Redis server has used (user + system).
func CPU(ctx context.Context, c redis.UniversalClient) (time.Duration, error) {
	m, err := Info(ctx, c, "cpu")
	if err != nil {
		return 0, err
	}
	var total float64
	for _, k := range []string{"used_cpu_user", "used_cpu_sys"} {
		v, err := strconv.ParseFloat(m[k], 64)
		if err != nil {
			return 0, fmt.Errorf("INFO cpu %s=%q: %w", k, m[k], err)
		}
		total += v
	}
	return time.Duration(total * float64(time.Second)), nil
}

// Memory is what INFO memory says Redis holds, in bytes.
type Memory struct {
	Used    int64 // used_memory
	Clients int64 // mem_clients_normal: the connections' buffers, within Used
}

// UsedMemory returns INFO memory's used_memory and mem_clients_normal.
func UsedMemory(ctx context.Context, c redis.UniversalClient) (Memory, error) {
	m, err := Info(ctx, c, "memory")
	if err != nil {
		return Memory{}, err
	}
	var mem Memory
	for _, f := range []struct {
		name string
		to   *int64
	}{{"used_memory", &mem.Used}, {"mem_clients_normal", &mem.Clients}} {
		if *f.to, err = strconv.ParseInt(m[f.name], 10, 64); err != nil {
			return Memory{}, fmt.Errorf("INFO memory %s=%q: %w", f.name, m[f.name], err)
		}
	}
	return mem, nil
}
