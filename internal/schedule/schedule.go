// Package schedule computes the ticks of a cron schedule from the clock alone,
// so that every process given the same spec and zone agrees on the time of
// every tick, and on the run id derived from it, whenever it was started.
package schedule

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"bitqueue/internal/base"
)

// MaxEvery is the longest period "@every D" accepts.
const MaxEvery = 366 * 24 * time.Hour

// day is the length of a wall-clock day in seconds.
const day = 24 * 60 * 60

// maxOffset bounds the UTC offset of any zone, past or present (they stay
// within ±16 h); an instant whose wall-clock reading is w lies within
// maxOffset of w.
const maxOffset = 26 * 60 * 60

// Schedule is a parsed schedule: the set of instants, whole seconds in UTC,
// at which it ticks. It is immutable and safe for concurrent use.
//
// A 5-field spec or a descriptor (@hourly, @daily, …) names wall-clock times
// in its zone. Each named wall-clock time ticks exactly once: a time skipped
// by a DST change (02:30 on a spring-forward night in New York) ticks at the
// instant of the change, and a time that occurs twice (01:30 on a fall-back
// night) ticks at its first occurrence only.
//
// "@every D" ticks at the wall-clock times that are whole multiples of D
// since midnight when D divides a day (so "@every 30s" ticks at :00 and :30
// of every minute, and "@every 6h" with a zone at 00:00, 06:00, 12:00 and
// 18:00 local time, following the same DST rules as a 5-field spec). When D
// does not divide a day ("@every 7m", "@every 36h"), it ticks at the whole
// multiples of D since the Unix epoch, and the zone plays no part.
type Schedule struct {
	spec string
	loc  *time.Location
	// wall returns the first wall-clock reading after w (w's fields read as
	// the wall clock, its zone ignored) that the schedule names, or the zero
	// time when there is none. Nil for an epoch-aligned @every.
	wall func(w time.Time) time.Time
	// every is the period in seconds of an epoch-aligned @every.
	every int64
	// seconds is set when ticks may fall inside a minute.
	seconds bool
}

// Parse parses spec in the zone loc (UTC when loc is nil). spec is a 5-field
// cron expression (minute hour day-of-month month day-of-week), a descriptor
// (@yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly) or
// "@every D" with D a whole number of seconds from 1s to MaxEvery. The zone
// is given by loc, never inside spec. A spec that never fires is an error.
func Parse(spec string, loc *time.Location) (*Schedule, error) {
	if loc == nil {
		loc = time.UTC
	}
	spec = strings.TrimSpace(spec)
	s := &Schedule{spec: spec, loc: loc}
	switch {
	case spec == "":
		return nil, errors.New("empty schedule")
	case strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ="):
		return nil, fmt.Errorf("schedule %q: give the time zone separately, not in the schedule", spec)
	case spec == "@every" || strings.HasPrefix(spec, "@every ") || strings.HasPrefix(spec, "@every\t"):
		return s.parseEvery(strings.TrimSpace(spec[len("@every"):]))
	}
	sched, err := parseCron(spec)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w", spec, err)
	}
	s.wall = sched.Next
	if sched.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
		return nil, fmt.Errorf("schedule %q never fires", spec)
	}
	return s, nil
}

// parseCron parses a 5-field spec or a descriptor, to be evaluated on wall
// clock readings held as UTC times.
func parseCron(spec string) (sched *cron.SpecSchedule, err error) {
	defer func() {
		if r := recover(); r != nil {
			sched, err = nil, fmt.Errorf("unparsable: %v", r)
		}
	}()
	parsed, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, err
	}
	ss, ok := parsed.(*cron.SpecSchedule)
	if !ok {
		return nil, fmt.Errorf("unsupported schedule type %T", parsed)
	}
	ss.Location = time.UTC
	return ss, nil
}

func (s *Schedule) parseEvery(arg string) (*Schedule, error) {
	if arg == "" {
		return nil, fmt.Errorf("schedule %q: want @every D, such as @every 30s", s.spec)
	}
	d, err := time.ParseDuration(arg)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w", s.spec, err)
	}
	if d < time.Second || d > MaxEvery || d%time.Second != 0 {
		return nil, fmt.Errorf("schedule %q: period %s must be a whole number of seconds from 1s to %s", s.spec, d, MaxEvery)
	}
	sec := int64(d / time.Second)
	s.seconds = sec%60 != 0
	if day%sec != 0 {
		s.every = sec
		return s, nil
	}
	s.wall = func(w time.Time) time.Time {
		return time.Unix((floorDiv(w.Unix(), sec)+1)*sec, 0).UTC()
	}
	return s, nil
}

// String returns the spec as parsed, without surrounding spaces.
func (s *Schedule) String() string { return s.spec }

// Location returns the zone the schedule's wall-clock times are read in.
func (s *Schedule) Location() *time.Location { return s.loc }

// Next returns the first tick strictly after t, in UTC, or the zero time when
// the schedule has no tick within the next five years. It depends on t alone:
// any two callers get the same answer for the same t, and Next(a) for any a
// between two consecutive ticks is the later one.
func (s *Schedule) Next(t time.Time) time.Time {
	// Ticks are whole seconds: a tick is after t exactly when it is after
	// t's whole second.
	after := t.Unix()
	if s.wall == nil {
		return time.Unix((floorDiv(after, s.every)+1)*s.every, 0).UTC()
	}
	_, off := t.In(s.loc).Zone()
	w := time.Unix(after+int64(off), 0).UTC()
	// Wall-clock times before t's own reading map to instants at or before
	// t; so do a few after it when t is in a repeated (fall-back) hour. The
	// loop walks past those, and ends within two days of wall time.
	for {
		w = s.wall(w)
		if w.IsZero() {
			return time.Time{}
		}
		if u := s.instant(w.Unix()); u > after {
			return time.Unix(u, 0).UTC()
		}
	}
}

// instant returns the Unix time at which the wall clock of s's zone reads w
// (seconds since 1970-01-01T00:00 of wall time): the first such instant when
// the reading occurs twice, and the instant the clock jumped over w when it
// never occurs.
func (s *Schedule) instant(w int64) int64 {
	if s.loc == time.UTC {
		return w
	}
	cur := time.Unix(w-maxOffset, 0).In(s.loc)
	var u int64
	for range 64 {
		_, off := cur.Zone()
		start, end := cur.ZoneBounds()
		u = w - int64(off)
		if !start.IsZero() && u < start.Unix() {
			// The previous zone ended before its clock read w, and this one
			// starts past w: the clock jumped over w at start.
			return start.Unix()
		}
		if end.IsZero() || u < end.Unix() {
			return u
		}
		cur = end
	}
	return u
}

// Last returns the at most n most recent ticks at or before now, oldest
// first, looking back no further than 20 years.
func (s *Schedule) Last(now time.Time, n int) []time.Time {
	if n <= 0 {
		return nil
	}
	const lookback = 20 * 366 * 24 * time.Hour
	for span := time.Minute; ; span *= 2 {
		span = min(span, lookback)
		ticks := s.between(now.Add(-span), now, n)
		if len(ticks) >= n || span == lookback {
			return ticks
		}
	}
}

// After returns the n-th tick after t (n ≥ 1; Next(t) is the first), or the
// zero time when the schedule has none within five years of a tick on the
// way. With a Runner's CatchUp of n, After(t, n) is when the tick at t leaves
// the reach of a starting Runner's catch-up.
func (s *Schedule) After(t time.Time, n int) time.Time {
	for range max(n, 1) {
		if t = s.Next(t); t.IsZero() {
			return t
		}
	}
	return t
}

// between returns the last at most n ticks in (from, to], oldest first.
func (s *Schedule) between(from, to time.Time, n int) []time.Time {
	var ticks []time.Time
	for t := s.Next(from); !t.IsZero() && !t.After(to); t = s.Next(t) {
		if len(ticks) == n {
			ticks = append(ticks[:0], ticks[1:]...)
		}
		ticks = append(ticks, t)
	}
	return ticks
}

// RunID returns the run id of the tick at t: name, a dash and t in UTC as
// 20061129T1504Z, or 20061129T150405Z when the schedule can tick inside a
// minute (or, in a zone whose offset is not whole minutes, t itself does).
func (s *Schedule) RunID(name string, t time.Time) string {
	layout := "20060102T1504Z"
	if s.seconds || t.Second() != 0 {
		layout = "20060102T150405Z"
	}
	return name + "-" + t.UTC().Format(layout)
}

// floorDiv returns a/b rounded towards minus infinity, for b > 0.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// MaxNameLen is the longest name a tick's run id (RunID) can start with and
// still be a run id.
const MaxNameLen = base.MaxRunID - len("-20060102T150405Z")

// MinRetention is the least time the tasks of a tick may be kept once done:
// below it, a replica a little behind could find neither the task nor the
// result of a batch that was just finished, and enqueue it again.
const MinRetention = time.Minute

// Retention returns how long the tasks of the tick at t are kept once done,
// unless told otherwise: twice the time to the next tick, from MinRetention
// to a day, which covers replicas whose clocks or starts lag behind by up
// to a tick.
func (s *Schedule) Retention(t time.Time) time.Duration {
	next := s.Next(t)
	if next.IsZero() {
		return 24 * time.Hour
	}
	return min(max(2*next.Sub(t), MinRetention), 24*time.Hour)
}
