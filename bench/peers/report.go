package peers

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// maxWall bounds the wall time a report may give: a week, far beyond any
// run's timeout, and far below time.Duration's range.
const maxWall = 7 * 24 * time.Hour

// report is the line a peer prints once every result is stored.
type report struct {
	Peer     string  `json:"peer"`
	Wall     float64 `json:"wall_seconds"`
	Ints     int     `json:"ints"`
	Batches  int     `json:"batches"`
	Versions string  `json:"versions"`
}

func parseReport(line string) (Result, error) {
	var r report
	dec := json.NewDecoder(strings.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return Result{}, fmt.Errorf("report %q: %w", line, err)
	}
	if !(r.Wall > 0 && r.Wall < maxWall.Seconds()) {
		return Result{}, fmt.Errorf("report %q: wall_seconds must be positive and below %s", line, maxWall)
	}
	return Result{
		Peer:     r.Peer,
		Wall:     time.Duration(r.Wall * float64(time.Second)),
		Ints:     r.Ints,
		Batches:  r.Batches,
		Versions: r.Versions,
	}, nil
}
