package runs

// The spans of the service's operations (docs/operations.md#tracing), made
// with Config.Tracer. The tasks Enqueue makes carry its span's context, under
// which the workers' spans of the batches go.
const (
	SpanEnqueue   = "enqueue"
	SpanWait      = "wait"
	SpanWriteRows = "write rows"
)
