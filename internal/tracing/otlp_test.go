package tracing

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"bitqueue/redistest"
)

// export is one request a test collector got.
type export struct {
	header http.Header
	body   []byte // as sent, gzipped or not
}

// testCollector answers the requests of a client under test with answers,
// one by one (200 once they run out), and records them.
type testCollector struct {
	mu      sync.Mutex
	got     []export
	answers []func(http.ResponseWriter, *http.Request)
}

func (c *testCollector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	c.got = append(c.got, export{header: r.Header.Clone(), body: body})
	var answer func(http.ResponseWriter, *http.Request)
	if len(c.answers) > 0 {
		answer, c.answers = c.answers[0], c.answers[1:]
	}
	c.mu.Unlock()
	if answer != nil {
		answer(w, r)
	}
}

func (c *testCollector) exports() []export {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]export(nil), c.got...)
}

// status answers with code, setting Retry-After to retryAfter unless "".
func status(code int, retryAfter string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		http.Error(w, "collector says "+http.StatusText(code), code)
	}
}

// startCollector starts a collector answering answers, closed when the test
// ends.
func startCollector(t *testing.T, answers ...func(http.ResponseWriter, *http.Request)) (*httptest.Server, *testCollector) {
	t.Helper()
	c := &testCollector{answers: answers}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	return srv, c
}

// newTestClient returns the client of the variables vars sending to url.
func newTestClient(t *testing.T, url string, vars map[string]string) *otlpClient {
	t.Helper()
	c, err := newClient(func(k string) string { return vars[k] }, url)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Stop(context.Background())) })
	return c
}

// testSpans returns the spans of two processes.
func testSpans() []*tracepb.ResourceSpans {
	var out []*tracepb.ResourceSpans
	for _, name := range []string{"producer", "worker"} {
		out = append(out, &tracepb.ResourceSpans{
			ScopeSpans: []*tracepb.ScopeSpans{{
				Scope: &commonpb.InstrumentationScope{Name: "bitqueue"},
				Spans: []*tracepb.Span{{
					TraceId: []byte("0123456789abcdef"), SpanId: []byte("01234567"),
					Name: name + " span", Kind: tracepb.Span_SPAN_KIND_PRODUCER,
				}},
			}},
		})
	}
	return out
}

// decodeBody returns the spans of the body of an export request, gunzipped
// as its Content-Encoding says, read as TracesData: the message OTLP keeps
// field for field the same as ExportTraceServiceRequest.
func decodeBody(t *testing.T, e export) []*tracepb.ResourceSpans {
	t.Helper()
	body := e.body
	if e.header.Get("Content-Encoding") == "gzip" {
		gz, err := gzip.NewReader(bytes.NewReader(body))
		require.NoError(t, err)
		body, err = io.ReadAll(gz)
		require.NoError(t, err)
	}
	var msg tracepb.TracesData
	require.NoError(t, proto.Unmarshal(body, &msg))
	return msg.GetResourceSpans()
}

// TestClientSendsExportRequest checks the request of an export: a POST of
// application/x-protobuf holding the spans, gzipped with
// OTEL_EXPORTER_OTLP_COMPRESSION=gzip, with the headers of
// OTEL_EXPORTER_OTLP_HEADERS (values URL-decoded), the per-signal variables
// winning over the general ones.
func TestClientSendsExportRequest(t *testing.T) {
	tests := []struct {
		name       string
		vars       map[string]string
		gzip       bool
		wantHeader map[string]string
	}{
		{"plain", nil, false, nil},
		{"gzip", map[string]string{"OTEL_EXPORTER_OTLP_COMPRESSION": "gzip"}, true, nil},
		{"none", map[string]string{"OTEL_EXPORTER_OTLP_COMPRESSION": "none"}, false, nil},
		{"traces compression wins", map[string]string{"OTEL_EXPORTER_OTLP_COMPRESSION": "none", "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION": "gzip"}, true, nil},
		{"headers", map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "api-key=s3cr%C3%A9t,X-Team = jobs%20queue ,"},
			false, map[string]string{"Api-Key": "s3crét", "X-Team": "jobs queue"}},
		{"traces headers win", map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "a=general", "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "b=traces"},
			false, map[string]string{"A": "", "B": "traces"}},
		{"headers leave the content type alone", map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "Content-Type=text/plain"},
			false, map[string]string{"Content-Type": "application/x-protobuf"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, col := startCollector(t)
			c := newTestClient(t, srv.URL+"/v1/traces", tt.vars)
			sent := testSpans()
			require.NoError(t, c.UploadTraces(context.Background(), sent))

			got := col.exports()
			require.Len(t, got, 1)
			require.Equal(t, "application/x-protobuf", got[0].header.Get("Content-Type"))
			if tt.gzip {
				require.Equal(t, "gzip", got[0].header.Get("Content-Encoding"))
			} else {
				require.Empty(t, got[0].header.Get("Content-Encoding"))
			}
			for k, v := range tt.wantHeader {
				require.Equal(t, v, got[0].header.Get(k), "header %s", k)
			}
			spans := decodeBody(t, got[0])
			require.Len(t, spans, len(sent))
			for i := range sent {
				require.True(t, proto.Equal(sent[i], spans[i]), "resource spans %d: sent %v, got %v", i, sent[i], spans[i])
			}
		})
	}
}

// TestClientRetries checks that a collector answering 429, 502, 503 or 504
// is asked again, after its Retry-After when it gives one, and that the
// spans are sent once it takes them.
func TestClientRetries(t *testing.T) {
	tests := []struct {
		name    string
		answers []func(http.ResponseWriter, *http.Request)
	}{
		{"503 then success", []func(http.ResponseWriter, *http.Request){status(503, "0")}},
		{"429, 502, 504 then success", []func(http.ResponseWriter, *http.Request){status(429, "0"), status(502, "0"), status(504, "0")}},
		{"503 without Retry-After then success", []func(http.ResponseWriter, *http.Request){status(503, "")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, col := startCollector(t, tt.answers...)
			c := newTestClient(t, srv.URL, nil)
			require.NoError(t, c.UploadTraces(context.Background(), testSpans()))
			got := col.exports()
			require.Len(t, got, len(tt.answers)+1, "one request per answer, and the one that succeeds")
			for _, e := range got {
				require.Len(t, decodeBody(t, e), 2, "each request holds the spans")
			}
		})
	}
}

// TestClientFails checks the errors of an export: a status not worth
// retrying is an error at once, naming the status and the collector's
// words; retries stop at OTEL_EXPORTER_OTLP_TIMEOUT, as does a collector
// that does not answer.
func TestClientFails(t *testing.T) {
	hang := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(time.Minute):
		}
	}
	tests := []struct {
		name     string
		timeout  string
		answers  []func(http.ResponseWriter, *http.Request)
		want     []string
		requests int
	}{
		{"400", "", []func(http.ResponseWriter, *http.Request){status(400, "0")},
			[]string{"answered 400 Bad Request", `"collector says Bad Request"`}, 1},
		{"404", "", []func(http.ResponseWriter, *http.Request){status(404, "")}, []string{"answered 404 Not Found"}, 1},
		{"503 past the timeout", "300", []func(http.ResponseWriter, *http.Request){status(503, ""), status(503, "")},
			[]string{"answered 503 Service Unavailable"}, 1},
		{"Retry-After past the timeout", "300", []func(http.ResponseWriter, *http.Request){status(503, "5"), status(503, "5")},
			[]string{"answered 503 Service Unavailable", "retry after 5s"}, 1},
		{"no answer within the timeout", "200", []func(http.ResponseWriter, *http.Request){hang},
			[]string{"context deadline exceeded"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, col := startCollector(t, tt.answers...)
			c := newTestClient(t, srv.URL+"/v1/traces", map[string]string{"OTEL_EXPORTER_OTLP_TIMEOUT": tt.timeout})
			err := c.UploadTraces(context.Background(), testSpans())
			require.Error(t, err)
			require.ErrorContains(t, err, srv.URL+"/v1/traces", "the error names the collector")
			for _, w := range tt.want {
				require.ErrorContains(t, err, w)
			}
			require.Len(t, col.exports(), tt.requests)
		})
	}
}

// TestClientUnreachable checks that a collector that cannot be reached is
// an error at once, naming it.
func TestClientUnreachable(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/v1/traces"
	srv.Close()
	c := newTestClient(t, url, nil)
	err := c.UploadTraces(context.Background(), testSpans())
	require.ErrorContains(t, err, url)
	require.ErrorContains(t, err, "connection refused")
}

// TestClientTLS checks that an https collector is trusted through
// OTEL_EXPORTER_OTLP_CERTIFICATE, and that the client certificate of
// OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE and _CLIENT_KEY is presented to a
// collector that requires one.
func TestClientTLS(t *testing.T) {
	t.Parallel()
	certs, err := redistest.NewCerts(t.TempDir(), "127.0.0.1")
	require.NoError(t, err)
	pair, err := tls.LoadX509KeyPair(certs.ServerCert, certs.ServerKey)
	require.NoError(t, err)
	caPEM, err := os.ReadFile(certs.CA)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(caPEM))
	col := &testCollector{}
	srv := httptest.NewUnstartedServer(col)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshakes refused below
	srv.StartTLS()
	t.Cleanup(srv.Close)

	tests := []struct {
		name string
		vars map[string]string
		want string // in the error, "" for none
	}{
		{"CA and client certificate", map[string]string{"OTEL_EXPORTER_OTLP_CERTIFICATE": certs.CA,
			"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": certs.ServerCert, "OTEL_EXPORTER_OTLP_CLIENT_KEY": certs.ServerKey}, ""},
		{"per-signal variables", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE": certs.CA,
			"OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE": certs.ServerCert, "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY": certs.ServerKey}, ""},
		{"no CA", map[string]string{"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": certs.ServerCert, "OTEL_EXPORTER_OTLP_CLIENT_KEY": certs.ServerKey},
			"certificate signed by unknown authority"},
		{"no client certificate", map[string]string{"OTEL_EXPORTER_OTLP_CERTIFICATE": certs.CA}, "certificate required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(col.exports())
			c := newTestClient(t, srv.URL+"/v1/traces", tt.vars)
			err := c.UploadTraces(context.Background(), testSpans())
			if tt.want != "" {
				require.ErrorContains(t, err, tt.want)
				require.Len(t, col.exports(), before, "no request got through")
				return
			}
			require.NoError(t, err)
			require.Len(t, col.exports(), before+1)
		})
	}
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		name, value string
		want        time.Duration
		ok          bool
	}{
		{"seconds", "3", 3 * time.Second, true},
		{"zero", "0", 0, true},
		{"a past date", "Wed, 21 Oct 2015 07:28:00 GMT", 0, true},
		{"none", "", 0, false},
		{"negative", "-1", 0, false},
		{"not a time", "soon", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := retryAfter(tt.value)
			require.Equal(t, tt.ok, ok)
			require.Equal(t, tt.want, got)
		})
	}
}

// TestStartSendsWithTheClientSettings checks that Start hands the client
// the variables of the command's getenv, not the process environment's: the
// spans of a span ended and sent at Stop reach the collector gzipped, with
// the headers asked for.
func TestStartSendsWithTheClientSettings(t *testing.T) {
	t.Parallel()
	srv, col := startCollector(t)
	vars := map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT":       srv.URL,
		"OTEL_EXPORTER_OTLP_TRACES_HEADERS": "authorization=Bearer%20t0ken",
		"OTEL_EXPORTER_OTLP_COMPRESSION":    "gzip",
		"OTEL_EXPORTER_OTLP_TIMEOUT":        "2000",
	}
	discard := slog.New(slog.DiscardHandler)
	tr, err := Start(context.Background(), "worker", func(k string) string { return vars[k] }, discard)
	require.NoError(t, err)
	_, span := tr.Tracer().Start(context.Background(), "x")
	span.End()
	tr.Stop(discard)

	got := col.exports()
	require.Len(t, got, 1)
	require.Equal(t, "Bearer t0ken", got[0].header.Get("Authorization"))
	require.Equal(t, "gzip", got[0].header.Get("Content-Encoding"))
	spans := decodeBody(t, got[0])
	require.Len(t, spans, 1)
	require.Len(t, spans[0].GetScopeSpans(), 1)
	require.Len(t, spans[0].GetScopeSpans()[0].GetSpans(), 1)
	require.Equal(t, "x", spans[0].GetScopeSpans()[0].GetSpans()[0].GetName())
}
