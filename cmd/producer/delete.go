package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"bitqueue/internal/runs"
)

// runDelete is `producer delete`: it deletes a run's tasks (but the active
// ones), results, done bitmap and index entry, leaving a tombstone record
// that refuses the run id until it expires. It returns an error (exit 1)
// when batches were still being processed: they will write their results,
// which running delete again removes.
func runDelete(ctx context.Context, c inspectConfig, stdout, stderr io.Writer) error {
	in, err := c.open(ctx, "delete", stderr, runs.Config{})
	if err != nil {
		return err
	}
	defer in.db.Close()
	st, err := in.svc.Delete(ctx, in.rec, c.recordTTL)
	if err != nil {
		return err
	}
	if c.json {
		if err := json.NewEncoder(stdout).Encode(st); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "run %s: deleted %d task(s) and %d result key(s); its id is refused for %s\n", st.RunID, st.Tasks, st.Results, c.recordTTL)
	}
	if len(st.Active) > 0 {
		return fmt.Errorf("run %s: %d batch(es) still being processed, left to finish: %s; run delete again once they are done to remove their results",
			st.RunID, len(st.Active), listed(st.Active[:min(len(st.Active), runs.MaxListed)], len(st.Active))[2:])
	}
	return nil
}
