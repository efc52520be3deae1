package runs

import (
	"cmp"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// The text forms of what the service reports, as the producer prints them;
// the JSON forms are the types' own encoding.

// WriteText writes st as lines of text: the run, its batches by state (with
// the first failed and lost ones), and the totals of its queues.
func (st Status) WriteText(w io.Writer) error {
	var b strings.Builder
	queue := queueText(st.Queue, st.Shards)
	fmt.Fprintf(&b, "run %s on queue %s: %d batches, %d integers (batch size %d), enqueued %s\n",
		st.RunID, queue, st.Batches, st.Integers, st.BatchSize, st.Created.UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "  input    %s\n", cmp.Or(st.Input, "(not recorded)"))
	fmt.Fprintf(&b, "  state    %s\n", st.State)
	fmt.Fprintf(&b, "  %-8s %d\n", BatchDone, st.Done)
	fmt.Fprintf(&b, "  %-8s %d (active %d, retry %d, scheduled %d)\n", BatchPending, st.Pending, st.Active, st.Retry, st.Scheduled)
	fmt.Fprintf(&b, "  %-8s %d%s\n", BatchFailed, st.Failed, Listed(st.FailedIDs, st.Failed))
	if st.LastError != "" {
		fmt.Fprintf(&b, "           last error: %s\n", st.LastError)
	}
	fmt.Fprintf(&b, "  %-8s %d%s\n", BatchLost, st.Lost, Listed(st.LostIDs, st.Lost))
	t := st.Totals
	fmt.Fprintf(&b, "queue %s: pending %d, active %d, scheduled %d, retry %d, archived %d, completed %d; processed %d, failed %d in all; %d worker(s)\n",
		queue, t.Pending, t.Active, t.Scheduled, t.Retry, t.Archived, t.Completed, t.ProcessedTotal, t.FailedTotal, t.Workers)
	if len(t.Paused) > 0 {
		fmt.Fprintln(&b, PausedMessage(t.Paused))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteText writes what Requeue did, a line for the failed batches sent back
// and one for the lost ones enqueued again, or a line saying there was
// nothing to do.
func (r Requeued) WriteText(w io.Writer) error {
	var b strings.Builder
	queue := queueText(r.Queue, r.shards)
	if len(r.Failed) > 0 {
		fmt.Fprintf(&b, "run %s: requeued %d failed batch(es) on queue %s%s\n", r.RunID, len(r.Failed), queue, Listed(r.Failed, len(r.Failed)))
	}
	if len(r.Enqueued) > 0 {
		fmt.Fprintf(&b, "run %s: enqueued %d lost batch(es) again on queue %s%s\n", r.RunID, len(r.Enqueued), queue, Listed(r.Enqueued, len(r.Enqueued)))
	}
	if len(r.Failed) == 0 && r.Lost == 0 {
		fmt.Fprintf(&b, "run %s: no failed or lost batches to requeue\n", r.RunID)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteText writes what Delete did, in a line.
func (d Deleted) WriteText(w io.Writer) error {
	_, err := fmt.Fprintf(w, "run %s: deleted %d task(s) and %d result key(s); its id is refused for %s\n", d.RunID, d.Tasks, d.Results, d.TTL)
	return err
}

// WriteList writes runs as a table: id, creation time, batches done out of
// all, state and input.
func WriteList(w io.Writer, runs []Summary) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN ID\tCREATED\tDONE\tSTATE\tINPUT")
	for _, r := range runs {
		fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%s\t%s\n", r.RunID, r.Created.UTC().Format(time.RFC3339), r.Done, r.Batches, r.State, r.Input)
	}
	return tw.Flush()
}

// Listed formats, after a colon, ids, the first of n task ids, and how many
// more there are; "" for no ids.
func Listed(ids []string, n int) string {
	if len(ids) == 0 {
		return ""
	}
	s := ": " + strings.Join(ids, ", ")
	if n > len(ids) {
		s += fmt.Sprintf(", … (%d more)", n-len(ids))
	}
	return s
}

// PausedMessage says that queues (some of a run's, at least one) are
// paused, and how to resume each: "queue bits is paused: `asynq queue
// unpause bits`; no worker takes its batches until then". --wait's warning
// and status say it alike.
func PausedMessage(queues []string) string {
	cmds := make([]string, len(queues))
	for i, q := range queues {
		cmds[i] = "`asynq queue unpause " + q + "`"
	}
	if len(queues) == 1 {
		return fmt.Sprintf("queue %s is paused: %s; no worker takes its batches until then", queues[0], cmds[0])
	}
	return fmt.Sprintf("queues %s are paused: %s; no worker takes their batches until then", strings.Join(queues, ", "), strings.Join(cmds, ", "))
}

// queueText names a run's queue, with its number of shards when it has
// several.
func queueText(queue string, shards int) string {
	if shards > 1 {
		return fmt.Sprintf("%s (%d shards)", queue, shards)
	}
	return queue
}
