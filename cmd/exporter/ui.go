package main

import (
	"fmt"
	"log/slog"
	"net"

	"github.com/hibiken/asynqmon"

	"bitqueue/internal/base"
	"bitqueue/internal/health"
	"bitqueue/internal/rdb"
)

// uiConfig is the exporter's web UI: asynqmon, asynq's own, served from
// this binary.
type uiConfig struct {
	addr       string // host:port to serve on; "" serves no UI
	addrFrom   string // where addr came from (--ui-addr or BITQUEUE_UI_ADDR), for messages
	readOnly   bool   // refuse every request but GET
	prometheus string // Prometheus's base URL, for the metrics tab; "" hides the tab
}

// uiPaths is what the UI's server logs it serves.
const uiPaths = "asynqmon / and /api/"

// startUI listens on c.addr and serves asynqmon there, on db's Redis and
// through db's own client, until the returned server's Stop; with no
// c.addr it serves nothing and returns nil. Batches read as formatPayload
// writes them, results as formatResult does.
func startUI(c uiConfig, db *rdb.RDB, log *slog.Logger) (*health.Server, error) {
	if c.addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.addrFrom, err)
	}
	// The handler is never closed: its Close would close db's client, which
	// run closes once, last.
	h := asynqmon.New(asynqmon.Options{
		RedisConnOpt:      db.ConnOpt(),
		PayloadFormatter:  asynqmon.PayloadFormatterFunc(formatPayload),
		ResultFormatter:   asynqmon.ResultFormatterFunc(formatResult),
		PrometheusAddress: c.prometheus,
		ReadOnly:          c.readOnly,
	})
	log.Info("web ui", "read_only", c.readOnly, "prometheus", c.prometheus)
	return health.Serve(ln, h, uiPaths, log), nil
}

// formatPayload shows a batch as "run R seq S: N ints (max width W)", W
// being the width of its result's bitstrings (base.Batch.Width); any other
// payload, a malformed batch included, as asynqmon shows it.
func formatPayload(taskType string, payload []byte) string {
	var b base.Batch
	if taskType != base.TypeBits || base.DecodeBatch(&b, payload) != nil {
		return asynqmon.DefaultPayloadFormatter.FormatPayload(taskType, payload)
	}
	return fmt.Sprintf("run %s seq %d: %d ints (max width %d)", b.RunID, b.Seq, len(b.Nums), b.Width())
}

// batchResult is what the UI shows as the result of a batch's task. A
// worker writes a batch's result to bitqueue's own result hash, never to
// the task, so the task of a finished batch (kept by the producer's
// --retention) has an empty result, which asynqmon would call
// "non-printable bytes".
const batchResult = "in bitqueue's result hash: producer results --run-id <run>"

// formatResult says where a batch's result is; any other result it shows
// as asynqmon does.
func formatResult(taskType string, result []byte) string {
	if taskType == base.TypeBits && len(result) == 0 {
		return batchResult
	}
	return asynqmon.DefaultResultFormatter.FormatResult(taskType, result)
}
