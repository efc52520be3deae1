package tracing_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/tracing"
)

// env returns a getenv of the variables in m.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// paths is a collector that records the paths of the requests it gets.
type paths struct {
	mu   sync.Mutex
	list []string
}

func collector(t *testing.T) (*httptest.Server, *paths) {
	t.Helper()
	p := &paths{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		p.mu.Lock()
		p.list = append(p.list, r.Method+" "+r.URL.Path)
		p.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	t.Cleanup(srv.Close)
	return srv, p
}

func (p *paths) get() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.list...)
}

var discard = slog.New(slog.DiscardHandler)

// on returns the variables of tracing on, to a collector at
// http://collector:4318, with the variables kv (name, value, name, …).
func on(kv ...string) map[string]string {
	m := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func TestStartOff(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
	}{
		{"nothing set", nil},
		{"exporter none", map[string]string{"OTEL_TRACES_EXPORTER": "none"}},
		{"exporter none wins over an endpoint", map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}},
		{"SDK disabled", map[string]string{"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}},
		{"a service name alone", map[string]string{"OTEL_SERVICE_NAME": "w"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := tracing.Start(context.Background(), "worker", env(tt.env), discard)
			require.NoError(t, err)
			require.False(t, tr.On())
			_, span := tr.Tracer().Start(context.Background(), "x")
			require.False(t, span.SpanContext().IsValid(), "off, the tracer is the no-op one")
			span.End()
			tr.Stop(discard)
		})
	}
}

func TestStartRefusesBadSettings(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"unknown exporter", map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, "OTEL_TRACES_EXPORTER=zipkin: want otlp or none"},
		{"grpc", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "OTEL_EXPORTER_OTLP_PROTOCOL=grpc: want http/protobuf"},
		{"json", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, "OTEL_EXPORTER_OTLP_PROTOCOL=http/json: want http/protobuf: bitqueue sends OTLP as protobuf over HTTP"},
		{"grpc for traces", map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc"}, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=grpc"},
		{"endpoint without scheme", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"}, "OTEL_EXPORTER_OTLP_ENDPOINT=collector:4318: want an http:// or https:// URL"},
		{"traces endpoint without host", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://"}, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://: want"},
		{"header without =", on("OTEL_EXPORTER_OTLP_HEADERS", "a=b,s3cret"), "OTEL_EXPORTER_OTLP_HEADERS=a=…,…: want key=value pairs separated by commas, values URL-encoded, such as api-key=secret,team=jobs%20queue: pair 2 has no ="},
		{"header without a name", on("OTEL_EXPORTER_OTLP_HEADERS", "a=b,=c"), "OTEL_EXPORTER_OTLP_HEADERS=a=…,=…: want key=value pairs separated by commas, values URL-encoded, such as api-key=secret,team=jobs%20queue: pair 2 has no header name"},
		{"header name with a space", on("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "api key=x"), "OTEL_EXPORTER_OTLP_TRACES_HEADERS=api key=…: want key=value pairs separated by commas, values URL-encoded, such as api-key=secret,team=jobs%20queue: pair 1 has no header name"},
		{"header value badly encoded", on("OTEL_EXPORTER_OTLP_HEADERS", "k=100%"), "OTEL_EXPORTER_OTLP_HEADERS=k=…: want key=value pairs separated by commas, values URL-encoded, such as api-key=secret,team=jobs%20queue: pair 1 has a value that is not URL-encoded text"},
		{"header value with a line break", on("OTEL_EXPORTER_OTLP_HEADERS", "k=a%0Ab"), "OTEL_EXPORTER_OTLP_HEADERS=k=…: want key=value pairs separated by commas, values URL-encoded, such as api-key=secret,team=jobs%20queue: pair 1 has a value that is not URL-encoded text"},
		{"timeout with a unit", on("OTEL_EXPORTER_OTLP_TIMEOUT", "10s"), "OTEL_EXPORTER_OTLP_TIMEOUT=10s: want a positive whole number of milliseconds"},
		{"timeout zero", on("OTEL_EXPORTER_OTLP_TIMEOUT", "0"), "OTEL_EXPORTER_OTLP_TIMEOUT=0: want a positive"},
		{"traces timeout wins", on("OTEL_EXPORTER_OTLP_TIMEOUT", "5000", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "-1"), "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT=-1: want a positive"},
		{"compression", on("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd"), "OTEL_EXPORTER_OTLP_COMPRESSION=zstd: want gzip or none"},
		{"traces compression", on("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "GZIP"), "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION=GZIP: want gzip or none"},
		{"CA file missing", on("OTEL_EXPORTER_OTLP_CERTIFICATE", "/nonexistent/ca.pem"), "OTEL_EXPORTER_OTLP_CERTIFICATE=/nonexistent/ca.pem: want a readable PEM file of CA certificates (open /nonexistent/ca.pem: no such file"},
		{"CA file without certificates", on("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", os.DevNull), "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE=" + os.DevNull + ": want a PEM file of CA certificates: the file holds none"},
		{"client certificate without key", on("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "c.pem"), "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE=c.pem: want OTEL_EXPORTER_OTLP_CLIENT_KEY too"},
		{"client key without certificate", on("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", "k.pem"), "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY=k.pem: want OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE too"},
		{"client certificate unreadable", on("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", os.DevNull, "OTEL_EXPORTER_OTLP_CLIENT_KEY", os.DevNull), "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE=" + os.DevNull + ": want a PEM certificate matching the key of OTEL_EXPORTER_OTLP_CLIENT_KEY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tracing.Start(context.Background(), "worker", env(tt.env), discard)
			require.ErrorContains(t, err, tt.want)
			var bad *tracing.EnvError
			require.ErrorAs(t, err, &bad, "a setting's fault: the commands exit 2")
		})
	}
}

// TestStartSendsToEndpoint checks where spans go: under
// OTEL_EXPORTER_OTLP_ENDPOINT's path, /v1/traces; to
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as it is. Stop sends what is left.
func TestStartSendsToEndpoint(t *testing.T) {
	tests := []struct {
		name, endpointVar, path, want string
	}{
		{"endpoint", "OTEL_EXPORTER_OTLP_ENDPOINT", "", "POST /v1/traces"},
		{"endpoint with a path", "OTEL_EXPORTER_OTLP_ENDPOINT", "/otlp/", "POST /otlp/v1/traces"},
		{"traces endpoint", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "/custom/traces", "POST /custom/traces"},
		{"traces endpoint without a path", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "", "POST /"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, got := collector(t)
			tr, err := tracing.Start(context.Background(), "worker", env(map[string]string{tt.endpointVar: srv.URL + tt.path}), discard)
			require.NoError(t, err)
			require.True(t, tr.On())
			_, span := tr.Tracer().Start(context.Background(), "x")
			require.True(t, span.SpanContext().IsValid())
			span.End()
			require.Empty(t, got.get(), "spans wait for their batch")
			tr.Stop(discard)
			require.Equal(t, []string{tt.want}, got.get(), "Stop sends the spans left")
		})
	}
}
