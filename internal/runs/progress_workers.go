package runs

import (
	"time"

	"github.com/hibiken/asynq"
)

// serverActive is the status asynq gives a server that pulls tasks; a
// stopped one (SIGTSTP) or one shutting down pulls none.
const serverActive = "active"

// workerWatch tells Wait when some of a run's queues have had no worker
// serving them for a while. It is a small state machine over the lists of
// servers it is given:
//
//	served     every queue has an active server
//	unserved   some queue has none, since `since`; reported once it lasts
//	           `after`, then nothing more until every queue is served again
type workerWatch struct {
	list func() ([]*asynq.ServerInfo, error)
	// elsewhereNow, when set, returns the other key prefixes the run's
	// batches are being done under (see Producer.elsewhere).
	elsewhereNow func() ([]string, error)
	queues       []string
	after        time.Duration
	every        time.Duration

	checked  time.Time // the last list, zero before the first
	since    time.Time // when some queue was first seen unserved; zero while all are served
	reported bool      // the current unserved stretch was reported
	// elsewhere are the prefixes the serving workers listen under, when
	// none listens under the run's: they serve its queues, but write its
	// results where the producer does not look.
	elsewhere []string
}

// newWorkerWatch returns the workerWatch of queues under w's settings,
// listing servers with list.
func newWorkerWatch(list func() ([]*asynq.ServerInfo, error), queues []string, w Watch) *workerWatch {
	ww := &workerWatch{list: list, queues: queues, after: w.UnservedAfter, every: w.ServerCheck}
	if ww.after <= 0 {
		ww.after = DefaultUnservedAfter
	}
	if ww.every <= 0 {
		ww.every = DefaultServerCheck
	}
	return ww
}

// check lists the servers when the last list is at least every old, and
// returns the queues to report, and for how long they went unserved, when
// that is due now. An error listing the servers is returned as is and
// changes nothing: the next check tries again.
func (ww *workerWatch) check(now time.Time) (queues []string, unservedFor time.Duration, err error) {
	if !ww.checked.IsZero() && now.Sub(ww.checked) < ww.every {
		return nil, 0, nil
	}
	ww.checked = now
	servers, err := ww.list()
	if err != nil {
		return nil, 0, err
	}
	unserved := unservedQueues(servers, ww.queues)
	ww.elsewhere = nil
	if len(unserved) == 0 && ww.elsewhereNow != nil {
		others, err := ww.elsewhereNow()
		if err != nil {
			return nil, 0, err
		}
		if len(others) > 0 {
			// Served, but by a fleet under another prefix: as good as
			// unserved for this run.
			unserved, ww.elsewhere = ww.queues, others
		}
	}
	queues, unservedFor = ww.observe(now, unserved)
	return queues, unservedFor, nil
}

// observe moves the state machine on with the queues found unserved at now,
// and returns them when they are to be reported.
func (ww *workerWatch) observe(now time.Time, unserved []string) ([]string, time.Duration) {
	if len(unserved) == 0 {
		ww.since, ww.reported = time.Time{}, false
		return nil, 0
	}
	if ww.since.IsZero() {
		ww.since = now
	}
	if ww.reported || now.Sub(ww.since) < ww.after {
		return nil, 0
	}
	ww.reported = true
	return unserved, now.Sub(ww.since)
}

// unservedQueues returns those of queues that no active server among
// servers lists, in the order of queues.
func unservedQueues(servers []*asynq.ServerInfo, queues []string) []string {
	served := map[string]bool{}
	for _, s := range servers {
		if s.Status != serverActive {
			continue
		}
		for q := range s.Queues {
			served[q] = true
		}
	}
	var out []string
	for _, q := range queues {
		if !served[q] {
			out = append(out, q)
		}
	}
	return out
}
