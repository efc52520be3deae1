package tracing

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/cenkalti/backoff/v5"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// otlpClient sends the spans of the SDK's OTLP exporter (otlptrace.New),
// already turned into OTLP's protobuf messages by it, to an OTLP/HTTP
// collector: one POST of an ExportTraceServiceRequest per batch, retried on
// 429, 502, 503 and 504 (after Retry-After when the collector gives one)
// within the timeout.
//
// It exists to keep gRPC out of bitqueue. The SDK's own OTLP/HTTP client,
// otlptracehttp, builds its request with the collector package of OTLP's
// Go types, which also holds the collector's gRPC service: it linked
// google.golang.org/grpc into every command, and brought grpc's module
// graph (gonum's among it) into the product's go.mod. The request needs
// none of that: ExportTraceServiceRequest is one field,
// `repeated ResourceSpans resource_spans = 1`, written here with protowire.
//
// The body is protobuf (Start refuses OTEL_EXPORTER_OTLP_PROTOCOL=http/json).
// newClient (otlpenv.go) reads the client's settings.
type otlpClient struct {
	url     string
	header  http.Header // OTEL_EXPORTER_OTLP_(TRACES_)HEADERS
	gzip    bool
	timeout time.Duration
	http    *http.Client
}

// Start does nothing: connections are made as spans are sent.
func (c *otlpClient) Start(context.Context) error { return nil }

// Stop closes the idle connections to the collector.
func (c *otlpClient) Stop(context.Context) error {
	c.http.CloseIdleConnections()
	return nil
}

// UploadTraces sends spans to the collector in one request, retrying it
// within the client's timeout while the collector answers 429, 502, 503 or
// 504. Any other answer but a 2xx, or a failure to reach the collector, is
// an error at once.
func (c *otlpClient) UploadTraces(ctx context.Context, spans []*tracepb.ResourceSpans) error {
	body, err := c.body(spans)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	retry := backoff.NewExponentialBackOff()
	retry.InitialInterval, retry.MaxInterval = time.Second, 5*time.Second
	_, err = backoff.Retry(ctx, func() (struct{}, error) { return struct{}{}, c.post(ctx, body) },
		backoff.WithBackOff(retry), backoff.WithMaxElapsedTime(c.timeout))
	return err
}

// body returns the ExportTraceServiceRequest of spans, gzipped when the
// client compresses.
func (c *otlpClient) body(spans []*tracepb.ResourceSpans) ([]byte, error) {
	var req []byte
	for _, rs := range spans {
		b, err := proto.Marshal(rs)
		if err != nil {
			return nil, fmt.Errorf("OTLP: encode spans: %w", err)
		}
		req = protowire.AppendTag(req, 1, protowire.BytesType)
		req = protowire.AppendBytes(req, b)
	}
	if !c.gzip {
		return req, nil
	}
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	if _, err := gz.Write(req); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// post sends body once. Its error is permanent (backoff.Permanent) unless
// the collector answered with a status worth retrying, and carries the
// collector's Retry-After (backoff.RetryAfterError) when it gave one.
func (c *otlpClient) post(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return backoff.Permanent(err)
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	if c.gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return backoff.Permanent(err)
	}
	defer func() { _ = resp.Body.Close() }()
	// The collector's answer to a success (a partial success at most) is
	// not read; that of a failure goes into the error, cut short.
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // so that the connection is reused
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}
	err = fmt.Errorf("OTLP collector %s answered %s: %q", c.url, resp.Status, bytes.TrimSpace(msg))
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		if d, ok := retryAfter(resp.Header.Get("Retry-After")); ok {
			return fmt.Errorf("%w (%w)", err, &backoff.RetryAfterError{Duration: d})
		}
		return err
	}
	return backoff.Permanent(err)
}

// retryAfter returns the wait a Retry-After header asks for, in seconds or
// until an HTTP date, and whether it asks for one.
func retryAfter(v string) (time.Duration, bool) {
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0), true
	}
	return 0, false
}
