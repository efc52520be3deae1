package redisstat

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCommandStats(t *testing.T) {
	t.Parallel()
	raw := "# Commandstats\r\n" +
		"cmdstat_evalsha:calls=3030,usec=110200,usec_per_call=36.37,rejected_calls=0,failed_calls=0\r\n" +
		"cmdstat_hset:calls=3000,usec=19700,usec_per_call=6.57,rejected_calls=0,failed_calls=0\r\n" +
		"\r\n"
	got := commandStats(parseInfo(raw))
	require.Equal(t, map[string]CmdStat{"evalsha": {Calls: 3030, Usec: 110200}, "hset": {Calls: 3000, Usec: 19700}}, got)
}

func TestDiffCommands(t *testing.T) {
	t.Parallel()
	before := map[string]CmdStat{"evalsha": {Calls: 10, Usec: 100}, "ping": {Calls: 5, Usec: 5}}
	after := map[string]CmdStat{"evalsha": {Calls: 25, Usec: 400}, "ping": {Calls: 5, Usec: 5}, "hset": {Calls: 2, Usec: 9}}
	require.Equal(t, map[string]CmdStat{"evalsha": {Calls: 15, Usec: 300}, "hset": {Calls: 2, Usec: 9}}, DiffCommands(before, after))
}
