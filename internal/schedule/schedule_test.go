package schedule

import (
	"bitqueue/internal/base"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func zone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	require.NoError(t, err, "time zone database")
	return loc
}

func at(t testing.TB, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	require.NoError(t, err)
	return tm
}

func mustParse(t testing.TB, spec, tz string) *Schedule {
	t.Helper()
	var loc *time.Location
	if tz != "" {
		loc = zone(t, tz)
	}
	s, err := Parse(spec, loc)
	require.NoError(t, err, "Parse(%q, %q)", spec, tz)
	return s
}

func TestParseRejects(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, spec, want string
	}{
		{"empty", "  ", "empty schedule"},
		{"every without period", "@every", "want @every D"},
		{"every zero", "@every 0s", "whole number of seconds from 1s"},
		{"every negative", "@every -5s", "whole number of seconds from 1s"},
		{"every sub-second", "@every 1500ms", "whole number of seconds from 1s"},
		{"every too long", "@every 9000h", "whole number of seconds from 1s"},
		{"every garbage", "@every soon", "invalid duration"},
		{"every trailing words", "@every 1s now", "unknown unit"},
		{"unknown descriptor", "@reboot", "unrecognized descriptor"},
		{"four fields", "* * * *", "expected exactly 5 fields"},
		{"six fields", "0 * * * * *", "expected exactly 5 fields"},
		{"minute out of range", "61 * * * *", "above maximum"},
		{"zero step", "*/0 * * * *", "step"},
		{"zone in spec", "TZ=UTC 0 * * * *", "time zone separately"},
		{"cron zone in spec", "CRON_TZ=Europe/Paris 0 * * * *", "time zone separately"},
		{"zone without spec", "TZ=UTC", "time zone separately"},
		{"never fires", "0 0 30 2 *", "never fires"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse(tc.spec, nil)
			require.Error(t, err)
			require.Nil(t, s)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

// ticks returns the first n ticks of s after from.
func ticks(s *Schedule, from time.Time, n int) []string {
	var out []string
	for t := from; len(out) < n; {
		t = s.Next(t)
		out = append(out, t.Format(time.RFC3339))
	}
	return out
}

func TestNext(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, spec, tz, from string
		want                 []string
	}{
		{"every 30s ticks at :00 and :30", "@every 30s", "", "2026-11-29T12:00:10.5Z",
			[]string{"2026-11-29T12:00:30Z", "2026-11-29T12:01:00Z", "2026-11-29T12:01:30Z"}},
		{"every 30s from a tick goes to the next one", "@every 30s", "", "2026-11-29T12:00:30Z",
			[]string{"2026-11-29T12:01:00Z", "2026-11-29T12:01:30Z"}},
		{"every 30s a nanosecond before a tick", "@every 30s", "", "2026-11-29T12:00:29.999999999Z",
			[]string{"2026-11-29T12:00:30Z", "2026-11-29T12:01:00Z"}},
		{"every 1s on whole seconds", "@every 1s", "", "2026-11-29T12:00:00.7Z",
			[]string{"2026-11-29T12:00:01Z", "2026-11-29T12:00:02Z", "2026-11-29T12:00:03Z"}},
		{"every 1s ignores the start's fraction", "@every 1s", "", "2026-11-29T12:00:00.000000001Z",
			[]string{"2026-11-29T12:00:01Z"}},
		{"every 15m", "@every 15m", "", "2026-11-29T23:50:00Z",
			[]string{"2026-11-30T00:00:00Z", "2026-11-30T00:15:00Z"}},
		{"every 7m is aligned to the epoch", "@every 7m", "", "2026-11-29T12:01:00Z",
			// 2026-11-29T12:00Z is exactly 4,276,080 periods of 7 minutes after the epoch.
			[]string{"2026-11-29T12:07:00Z", "2026-11-29T12:14:00Z"}},
		{"every 7m ignores the zone", "@every 7m", "Asia/Kolkata", "2026-11-29T12:01:00Z",
			[]string{"2026-11-29T12:07:00Z", "2026-11-29T12:14:00Z"}},
		{"every 1h follows a half-hour zone", "@every 1h", "Asia/Kolkata", "2026-11-29T12:00:00Z",
			[]string{"2026-11-29T12:30:00Z", "2026-11-29T13:30:00Z"}},
		{"every 24h at local midnight", "@every 24h", "Europe/Paris", "2026-11-29T12:00:00Z",
			[]string{"2026-11-29T23:00:00Z", "2026-11-30T23:00:00Z"}},
		{"every 6h across a fall-back night", "@every 6h", "America/New_York", "2026-10-31T17:00:00Z",
			// 18:00 EDT, 00:00 EDT, 06:00 EST (7 h later), 12:00 EST.
			[]string{"2026-10-31T22:00:00Z", "2026-11-01T04:00:00Z", "2026-11-01T11:00:00Z", "2026-11-01T17:00:00Z"}},
		{"hourly in UTC", "@hourly", "", "2026-11-29T12:00:00Z",
			[]string{"2026-11-29T13:00:00Z", "2026-11-29T14:00:00Z"}},
		{"daily in UTC", "@daily", "", "2026-11-29T12:00:00Z",
			[]string{"2026-11-30T00:00:00Z", "2026-12-01T00:00:00Z"}},
		{"weekdays at 09:00", "0 9 * * 1-5", "", "2026-11-27T10:00:00Z", // a Friday
			[]string{"2026-11-30T09:00:00Z", "2026-12-01T09:00:00Z"}},
		{"02:30 daily across spring forward ticks at the change", "30 2 * * *", "America/New_York", "2026-03-07T00:00:00Z",
			// 02:30 EST; 02:30 does not exist on 8 March: 03:00 EDT; 02:30 EDT.
			[]string{"2026-03-07T07:30:00Z", "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"}},
		{"01:30 daily across fall back ticks once", "30 1 * * *", "America/New_York", "2026-10-31T00:00:00Z",
			// 01:30 EDT; 01:30 EDT again (not 01:30 EST); 01:30 EST.
			[]string{"2026-10-31T05:30:00Z", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"}},
		{"every 30 minutes across spring forward", "*/30 * * * *", "America/New_York", "2026-03-08T06:10:00Z",
			// 01:30 EST, then 02:00 and 02:30 (skipped) and 03:00 EDT are one tick.
			[]string{"2026-03-08T06:30:00Z", "2026-03-08T07:00:00Z", "2026-03-08T07:30:00Z"}},
		{"every 30 minutes across fall back skips the repeated hour", "*/30 * * * *", "America/New_York", "2026-11-01T04:50:00Z",
			// 01:00 and 01:30 EDT; 01:00 and 01:30 EST are not ticked again; 02:00 EST.
			[]string{"2026-11-01T05:00:00Z", "2026-11-01T05:30:00Z", "2026-11-01T07:00:00Z"}},
		{"from inside the repeated hour", "*/30 * * * *", "America/New_York", "2026-11-01T06:10:00Z",
			[]string{"2026-11-01T07:00:00Z", "2026-11-01T07:30:00Z"}},
		{"Europe/London spring forward", "30 1 * * *", "Europe/London", "2026-03-28T12:00:00Z",
			// 01:30 GMT does not exist on 29 March: 02:00 BST = 01:00Z.
			[]string{"2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"}},
		{"half-hour DST (Lord Howe)", "30 1 * * *", "Australia/Lord_Howe", "2026-10-03T00:00:00Z",
			// 01:30 +10:30; on 4 October 02:00 becomes 02:30 (+11), 01:30 still exists.
			[]string{"2026-10-03T15:00:00Z", "2026-10-04T14:30:00Z"}},
		{"midnight skipped by DST (Sao Paulo, 2018)", "0 0 * * *", "America/Sao_Paulo", "2018-11-03T12:00:00Z",
			// 4 November 2018 began at 01:00 -02: midnight ticks at the change.
			[]string{"2018-11-04T03:00:00Z", "2018-11-05T02:00:00Z"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := mustParse(t, tc.spec, tc.tz)
			require.Equal(t, tc.want, ticks(s, at(t, tc.from), len(tc.want)))
		})
	}
}

// Replicas started at any moment compute the same ticks: Next from any time
// between two ticks is the later tick, and Last at any time ends with the
// ticks before it.
func TestReplicasAgree(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		spec, tz, from, to string
	}{
		{"@every 1s", "", "2026-11-29T11:59:50Z", "2026-11-29T12:00:10Z"},
		{"@every 30s", "", "2026-11-29T11:55:00Z", "2026-11-29T12:05:00Z"},
		{"@every 7m", "", "2026-11-29T11:00:00Z", "2026-11-29T13:00:00Z"},
		{"@every 30s", "America/New_York", "2026-11-01T05:50:00Z", "2026-11-01T07:10:00Z"},
		{"@every 15m", "America/New_York", "2026-03-08T06:00:00Z", "2026-03-08T08:00:00Z"},
		{"* * * * *", "America/New_York", "2026-11-01T05:00:00Z", "2026-11-01T07:30:00Z"},
		{"*/5 1-3 * * *", "America/New_York", "2026-03-07T00:00:00Z", "2026-03-10T00:00:00Z"},
		{"*/5 1-3 * * *", "Europe/Berlin", "2026-10-24T00:00:00Z", "2026-10-27T00:00:00Z"},
		{"0 * * * *", "Australia/Lord_Howe", "2026-10-03T00:00:00Z", "2026-10-05T00:00:00Z"},
		{"@daily", "America/Sao_Paulo", "2018-11-01T00:00:00Z", "2018-11-10T00:00:00Z"},
		{"0 9 * * 1-5", "Asia/Tokyo", "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z"},
	} {
		t.Run(tc.spec+" "+tc.tz, func(t *testing.T) {
			t.Parallel()
			s := mustParse(t, tc.spec, tc.tz)
			from, to := at(t, tc.from), at(t, tc.to)
			// The reference sequence, walked from one start.
			var seq []time.Time
			for tk := s.Next(from); tk.Before(to); tk = s.Next(tk) {
				require.True(t, len(seq) == 0 || tk.After(seq[len(seq)-1]), "ticks increase")
				require.Zero(t, tk.Nanosecond(), "ticks are whole seconds")
				require.Equal(t, time.UTC, tk.Location())
				seq = append(seq, tk)
			}
			require.GreaterOrEqual(t, len(seq), 3, "ticks in the window")
			rng := rand.New(rand.NewPCG(1, uint64(len(tc.spec))))
			span := int64(seq[len(seq)-1].Sub(seq[0]))
			for range 500 {
				start := seq[0].Add(time.Duration(rng.Int64N(span)))
				if rng.IntN(4) == 0 { // sometimes exactly on a tick
					start = seq[rng.IntN(len(seq)-1)]
				}
				i := 0
				for !seq[i].After(start) {
					i++
				}
				require.Equal(t, seq[i], s.Next(start), "Next(%s)", start)
				// Same answer whatever zone the caller's clock is in.
				require.Equal(t, seq[i], s.Next(start.In(zone(t, "Asia/Kathmandu"))), "Next(%s) in another zone", start)
				k := min(i, 3)
				require.Equal(t, seq[i-k:i], s.Last(start, k), "Last(%s, %d)", start, k)
			}
		})
	}
}

func TestLast(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, spec, now string
		n               int
		want            []string
	}{
		{"includes a tick at now", "@every 1s", "2026-11-29T12:00:05Z", 3,
			[]string{"2026-11-29T12:00:03Z", "2026-11-29T12:00:04Z", "2026-11-29T12:00:05Z"}},
		{"between ticks", "@every 30s", "2026-11-29T12:00:45Z", 2,
			[]string{"2026-11-29T12:00:00Z", "2026-11-29T12:00:30Z"}},
		{"sparse schedule looks back far enough", "0 0 1 1 *", "2026-11-29T12:00:00Z", 2,
			[]string{"2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z"}},
		{"none asked", "@every 1s", "2026-11-29T12:00:05Z", 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustParse(t, tc.spec, "")
			var got []string
			for _, tk := range s.Last(at(t, tc.now), tc.n) {
				got = append(got, tk.Format(time.RFC3339))
			}
			require.Equal(t, tc.want, got)
		})
	}
}

func TestRunID(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, spec, tz, tick, want string
	}{
		{"cron: minutes", "0 12 * * *", "", "2026-11-29T12:00:00Z", "nightly-20261129T1200Z"},
		{"cron in a zone: UTC time", "0 13 * * *", "Europe/Paris", "2026-11-29T12:00:00Z", "nightly-20261129T1200Z"},
		{"every minute-multiple: minutes", "@every 5m", "", "2026-11-29T12:05:00Z", "nightly-20261129T1205Z"},
		{"every 30s: seconds, even on :00", "@every 30s", "", "2026-11-29T12:00:00Z", "nightly-20261129T120000Z"},
		{"every 1s: seconds", "@every 1s", "", "2026-11-29T12:00:07Z", "nightly-20261129T120007Z"},
		{"every 90s: seconds", "@every 90s", "", "2026-11-29T12:01:30Z", "nightly-20261129T120130Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustParse(t, tc.spec, tc.tz)
			id := s.RunID("nightly", at(t, tc.tick))
			require.Equal(t, tc.want, id)
			require.NoError(t, base.ValidateRunID(id))
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"@every 1s", "@every 30s", "@every 1h30m", "@every 7m", "@every", "@every -1s", "@every 1e9h",
		"* * * * *", "*/5 1-3 * * 1-5", "0 0 29 2 *", "0 0 30 2 *", "61 * * * *", "*/0 * * * *",
		"@hourly", "@daily", "@yearly", "@reboot", "TZ=", "CRON_TZ=UTC * * * * *", "TZ=Europe/Paris", "",
		"0-59/7,3 0-23/5 ? JAN-DEC SUN-SAT", "1-0 * * * *", "* * * * 7", "@every 0.5s",
	} {
		f.Add(s, "America/New_York")
		f.Add(s, "")
	}
	zones := map[string]*time.Location{"": time.UTC, "America/New_York": zone(f, "America/New_York")}
	from := time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, spec, tz string) {
		loc, ok := zones[tz]
		if !ok {
			loc = time.UTC
		}
		s, err := Parse(spec, loc)
		if err != nil {
			require.Nil(t, s)
			return
		}
		prev := from
		for range 3 {
			next := s.Next(prev)
			if next.IsZero() {
				return
			}
			require.True(t, next.After(prev), "Next(%s) = %s is not after it", prev, next)
			require.NoError(t, base.ValidateRunID(s.RunID("n", next)))
			require.False(t, strings.Contains(s.RunID("n", next), ":"))
			prev = next
		}
		last := s.Last(prev, 2)
		require.NotEmpty(t, last)
		require.Equal(t, prev, last[len(last)-1])
	})
}
