package tracing

import "go.opentelemetry.io/otel/attribute"

// The attributes of bitqueue's spans (docs/operations.md#tracing): those of
// a run and its batches, and, after OpenTelemetry's messaging conventions,
// those of a task on its queue.
const (
	AttrRunID         = attribute.Key("bitqueue.run_id")
	AttrSeq           = attribute.Key("bitqueue.seq")
	AttrBatches       = attribute.Key("bitqueue.batches")
	AttrIntegers      = attribute.Key("bitqueue.integers")
	AttrEnqueued      = attribute.Key("bitqueue.enqueued")
	AttrAlreadyQueued = attribute.Key("bitqueue.already_queued")
	AttrAlreadyDone   = attribute.Key("bitqueue.already_done")
	AttrTick          = attribute.Key("bitqueue.tick")
	AttrCatchUp       = attribute.Key("bitqueue.catch_up")
	AttrMisses        = attribute.Key("bitqueue.misses")
	AttrBytes         = attribute.Key("bitqueue.bytes")
	AttrRetry         = attribute.Key("bitqueue.retry")

	AttrSystem    = attribute.Key("messaging.system")
	AttrQueue     = attribute.Key("messaging.destination.name")
	AttrTaskID    = attribute.Key("messaging.message.id")
	AttrOperation = attribute.Key("messaging.operation.type")
)
