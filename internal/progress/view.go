// Package progress shows how far a run has come while the producer waits
// for it, on standard error, in the way that suits where standard error
// goes: one line redrawn in place on a terminal, a plain line every few
// seconds in a pipe or a file, numeric info lines in a JSON log.
package progress

import (
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"time"

	"bitqueue/internal/base"
	"bitqueue/internal/runs"
)

// How --wait shows progress, by where standard error goes.
type progressMode int

const (
	// progressLive redraws one line in place: standard error is a
	// terminal and the logs are text.
	progressLive progressMode = iota
	// progressPlain writes a line every progressEvery: a pipe or a file.
	progressPlain
	// progressJSON logs an info line with numeric fields every
	// progressEvery: --log-format json.
	progressJSON
)

const (
	// progressEvery is the pace of progress lines in a pipe, a file or a
	// JSON log.
	progressEvery = 5 * time.Second
	// liveEvery is the least time between two redraws of the live line.
	liveEvery = 200 * time.Millisecond
	// rateWindow is how far back the rate, and so the ETA, looks.
	rateWindow = 10 * time.Second
)

// View shows what runs.Service.Wait tells on standard error, in the
// way that suits where it goes (progressMode). Its clock is Wait's: the
// Elapsed of each report paces the lines and measures the rate.
type View struct {
	mode   progressMode
	out    io.Writer // progressPlain: where lines go
	live   *liveLine // progressLive: the line redrawn
	log    *slog.Logger
	advice string // ends the no-worker warning
	prefix string // the run's key prefix

	shown time.Duration // Elapsed of the last line shown
	drawn bool          // a line was shown
	rate  rateMeter
}

// NewView returns the view of --wait's progress on stderr, which
// run wrapped in a *liveLine when it is a terminal (see Stderr). advice
// ends the warning about queues no worker serves.
func NewView(stderr io.Writer, log *slog.Logger, format, advice, prefix string) *View {
	v := &View{mode: progressPlain, out: stderr, log: log, advice: advice, prefix: prefix}
	switch l, ok := stderr.(*liveLine); {
	case format == "json":
		v.mode = progressJSON
	case ok:
		v.mode, v.live = progressLive, l
	}
	return v
}

// Watch returns what Wait reports to.
func (v *View) Watch() runs.Watch {
	return runs.Watch{Progress: v.progress, Unserved: v.unserved, Paused: v.paused}
}

// progress shows pi when it is due: the end of the run always; otherwise
// every liveEvery on a terminal (from the first report) and every
// progressEvery elsewhere.
func (v *View) progress(pi runs.ProgressInfo) {
	v.rate.add(pi.Elapsed, pi.Integers)
	if pi.Finished() {
		v.finish(pi)
		return
	}
	every := progressEvery
	if v.mode == progressLive {
		every = liveEvery
		if !v.drawn {
			every = 0
		}
	}
	if pi.Elapsed-v.shown < every {
		return
	}
	v.shown, v.drawn = pi.Elapsed, true
	rate, rateKnown := v.rate.perSecond()
	eta, etaKnown := etaOf(pi, rate)
	switch v.mode {
	case progressJSON:
		attrs := []any{"run_id", pi.RunID, "done", pi.Done, "total", pi.Total, "integers", pi.Integers}
		if rateKnown {
			attrs = append(attrs, "ints_per_sec", math.Round(rate))
		}
		if etaKnown {
			attrs = append(attrs, "eta_seconds", math.Ceil(eta.Seconds()))
		}
		v.log.Info("progress", attrs...)
	case progressLive:
		v.live.set(progressLine(pi, rate, rateKnown, eta, etaKnown))
	default:
		fmt.Fprintln(v.out, progressLine(pi, rate, rateKnown, eta, etaKnown))
	}
}

// finish shows the last line: every batch done, and how long it took.
func (v *View) finish(pi runs.ProgressInfo) {
	took := pi.Elapsed.Round(time.Millisecond)
	line := fmt.Sprintf("run %s: %d/%d batches done in %s", pi.RunID, pi.Done, pi.Total, took)
	switch v.mode {
	case progressJSON:
		v.log.Info(line, "run_id", pi.RunID, "done", pi.Done, "total", pi.Total, "integers", pi.Integers, "took", took)
	case progressLive:
		v.live.finish(line)
	default:
		fmt.Fprintln(v.out, line)
	}
}

// unserved warns that no worker serves some of the run's queues.
func (v *View) unserved(u runs.Unserved) {
	msg := fmt.Sprintf("no worker serves queue(s) %s for %s", strings.Join(u.Queues, ", "), u.For.Round(time.Second))
	switch {
	case len(u.Prefixes) > 0:
		msg = fmt.Sprintf("the workers serving queue(s) %s write results under prefix %s, not %s, for %s: start them with --prefix %s, or give the producer --prefix %s",
			strings.Join(u.Queues, ", "), strings.Join(u.Prefixes, " or "), v.prefix, u.For.Round(time.Second), v.prefix, u.Prefixes[0])
	case v.advice != "":
		msg += ": " + v.advice
	}
	v.log.Warn(msg, "run_id", u.RunID, "queues", u.Queues, "unserved_for", u.For.Round(time.Second))
}

// paused warns that some of the run's queues are paused.
func (v *View) paused(p runs.Paused) {
	v.log.Warn(runs.PausedMessage(p.Queues), "run_id", p.RunID, "queues", p.Queues)
}

// Close ends a live line left open by a wait that did not finish, so that
// what follows (the error) starts on a line of its own.
func (v *View) Close() {
	if v.live != nil {
		v.live.end()
	}
}

// progressLine is a line of progress:
// "run X: 120/500 batches done, 1.2 M ints/s, ETA 3s"; the rate is left out
// until it is measured (two reports some time apart).
func progressLine(pi runs.ProgressInfo, rate float64, rateKnown bool, eta time.Duration, etaKnown bool) string {
	etaText := "unknown"
	if etaKnown {
		etaText = shortDuration(eta)
	}
	rateText := ""
	if rateKnown {
		rateText = ", " + humanRate(rate) + " ints/s"
	}
	return fmt.Sprintf("run %s: %d/%d batches done%s, ETA %s", pi.RunID, pi.Done, pi.Total, rateText, etaText)
}

// etaOf returns how long the rest of the run takes at rate integers per
// second, and false while the rate is not known (no batch done in the
// window).
func etaOf(pi runs.ProgressInfo, rate float64) (time.Duration, bool) {
	if rate <= 0 {
		return 0, false
	}
	left := float64(pi.TotalIntegers - min(pi.Integers, pi.TotalIntegers))
	return time.Duration(left / rate * float64(time.Second)), true
}

// humanRate formats a rate with a metric prefix and three digits at most:
// "850", "12.3 k", "1.2 M".
func humanRate(r float64) string {
	switch {
	case r >= 1e9:
		return trimZero(r/1e9) + " G"
	case r >= 1e6:
		return trimZero(r/1e6) + " M"
	case r >= 1e3:
		return trimZero(r/1e3) + " k"
	default:
		return fmt.Sprintf("%.0f", r)
	}
}

// trimZero formats x with one decimal below 100 and none above, without a
// trailing ".0".
func trimZero(x float64) string {
	if x >= 100 {
		return fmt.Sprintf("%.0f", x)
	}
	return strings.TrimSuffix(fmt.Sprintf("%.1f", x), ".0")
}

// shortDuration formats an ETA in whole seconds, at least 1s: "3s",
// "2m5s", "1h0m3s".
func shortDuration(d time.Duration) string {
	return max(d.Round(time.Second), time.Second).String()
}

// rateMeter measures integers per second over the last rateWindow of
// reports.
type rateMeter struct{ samples []rateSample }

type rateSample struct {
	at time.Duration
	n  uint64
}

// add records n integers done at elapsed time at, and forgets the samples
// that the window no longer needs (keeping one at or before its start).
func (m *rateMeter) add(at time.Duration, n uint64) {
	m.samples = append(m.samples, rateSample{at, n})
	drop := 0
	for drop+1 < len(m.samples) && m.samples[drop+1].at <= at-rateWindow {
		drop++
	}
	m.samples = m.samples[drop:]
}

// perSecond returns the rate over the window, and false until two samples
// span some time.
func (m *rateMeter) perSecond() (float64, bool) {
	if len(m.samples) < 2 {
		return 0, false
	}
	first, last := m.samples[0], m.samples[len(m.samples)-1]
	dt := (last.at - first.at).Seconds()
	if dt <= 0 {
		return 0, false
	}
	if last.n < first.n {
		return 0, true
	}
	return float64(last.n-first.n) / dt, true
}

// WorkerAdvice is what the warning about queues no worker serves advises:
// the worker command that serves the queue with shards under prefix.
func WorkerAdvice(queue string, shards int, prefix string) string {
	cmd := "start bin/worker"
	if queue != base.DefaultQueue {
		cmd += " --queue " + queue
	}
	if shards > 1 {
		cmd += fmt.Sprintf(" --shards %d", shards)
	}
	if prefix != base.DefaultPrefix {
		cmd += " --prefix " + prefix
	}
	return cmd + " on the same Redis, or check why the workers stopped (a worker still building its cache serves nothing yet)"
}
