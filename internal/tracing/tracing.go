// Package tracing sets up a command's OpenTelemetry traces from the standard
// OTEL_* environment variables, and shuts them down at exit.
//
// Tracing is off unless the environment asks for it: OTEL_TRACES_EXPORTER
// is otlp, or OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set (and OTEL_TRACES_EXPORTER is
// not none, and OTEL_SDK_DISABLED is not true). Off, nothing is set up: the
// tracer is OpenTelemetry's no-op one and Tracing.On is false, so that a hot
// path can skip its spans altogether. On, spans go in batches to an OTLP/HTTP
// collector, the process's global tracer provider is the SDK's, and the
// W3C trace-context propagator is in place. The SDK's exporter turns spans
// into OTLP's messages and a client of bitqueue's own sends them (otlp.go),
// with the headers, timeout, compression and certificates of the
// OTEL_EXPORTER_OTLP_* variables read, as Start's others, through the
// command's getenv. The batch span processor, the sampler and the resource
// read theirs (OTEL_BSP_*, OTEL_TRACES_SAMPLER, OTEL_RESOURCE_ATTRIBUTES)
// from the process environment themselves.
package tracing

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// The variables Start reads itself.
const (
	VarExporter       = "OTEL_TRACES_EXPORTER"
	VarEndpoint       = "OTEL_EXPORTER_OTLP_ENDPOINT"
	VarTracesEndpoint = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	VarProtocol       = "OTEL_EXPORTER_OTLP_PROTOCOL"
	VarTracesProtocol = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
	VarServiceName    = "OTEL_SERVICE_NAME"
	VarSDKDisabled    = "OTEL_SDK_DISABLED"
)

// tracesPath is where OTLP/HTTP takes traces under OTEL_EXPORTER_OTLP_ENDPOINT.
const tracesPath = "/v1/traces"

// StopTimeout bounds how long Stop waits for the last spans to be sent, so
// that an unreachable collector delays a command's exit by at most this.
const StopTimeout = 5 * time.Second

// Tracing is a command's tracing, on or off. Its zero value is off.
type Tracing struct {
	provider *sdktrace.TracerProvider // nil when off
	tracer   trace.Tracer
}

// EnvError is an OTEL_* variable whose value bitqueue cannot use. It is the
// fault of a setting: the commands exit 2 on it.
type EnvError struct {
	Var, Value string
	Want       string // what would do
}

func (e *EnvError) Error() string {
	return fmt.Sprintf("%s=%s: %s", e.Var, e.Value, e.Want)
}

// SettingFault marks the error as a setting's fault (cli.SettingFault).
func (*EnvError) SettingFault() {}

// endpoint returns the URL spans are sent to, "" for the default
// (defaultEndpoint), and whether the environment asks for
// an exporter by naming one.
func endpoint(getenv func(string) string) (string, bool, error) {
	name, v := otlpVar(getenv, "ENDPOINT")
	if v == "" {
		return "", false, nil
	}
	u, err := checkURL(name, v)
	if err != nil {
		return "", false, err
	}
	switch {
	case name == VarEndpoint: // the general endpoint: traces under it
		u.Path = path.Join("/", u.Path, tracesPath)
	case u.Path == "":
		u.Path = "/"
	}
	return u.String(), true, nil
}

func checkURL(name, v string) (*url.URL, error) {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &EnvError{Var: name, Value: v, Want: "want an http:// or https:// URL such as http://localhost:4318"}
	}
	return u, nil
}

// enabled reports whether the environment turns tracing on, and the
// endpoint to send spans to ("" for the default).
func enabled(getenv func(string) string) (bool, string, error) {
	if strings.EqualFold(strings.TrimSpace(getenv(VarSDKDisabled)), "true") {
		return false, "", nil
	}
	exp := strings.TrimSpace(getenv(VarExporter))
	switch exp {
	case "none":
		return false, "", nil
	case "", "otlp":
	default:
		return false, "", &EnvError{Var: VarExporter, Value: exp, Want: "want otlp or none"}
	}
	name, proto := otlpVar(getenv, "PROTOCOL") // the per-signal variable wins
	switch proto {
	case "", "http/protobuf":
	default:
		return false, "", &EnvError{Var: name, Value: proto, Want: "want http/protobuf: bitqueue sends OTLP as protobuf over HTTP"}
	}
	url, named, err := endpoint(getenv)
	if err != nil {
		return false, "", err
	}
	return exp == "otlp" || named, url, nil
}

// Start sets up tracing for the command service (the default
// OTEL_SERVICE_NAME) as the environment read through getenv says, logging
// to log what it set up and, once on, every failure to export. It returns an
// *EnvError for a variable it cannot use. Stop undoes it.
func Start(ctx context.Context, service string, getenv func(string) string, log *slog.Logger) (*Tracing, error) {
	on, url, err := enabled(getenv)
	if err != nil {
		return nil, err
	}
	if !on {
		return &Tracing{}, nil
	}
	client, err := newClient(getenv, url)
	if err != nil {
		return nil, err
	}
	exp, err := otlptrace.New(ctx, client)
	if err != nil {
		return nil, fmt.Errorf("tracing: OTLP exporter: %w", err)
	}
	name := service
	if v := getenv(VarServiceName); v != "" {
		name = v
	}
	res, err := resource.New(ctx,
		resource.WithFromEnv(), // OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME
		resource.WithAttributes(attribute.String("service.name", name)),
		resource.WithTelemetrySDK(),
		resource.WithHost(),
		resource.WithProcessPID(),
	)
	if err != nil {
		// Such as a malformed OTEL_RESOURCE_ATTRIBUTES: the spans go out
		// with the attributes that could be read.
		log.Warn("tracing: resource attributes", "err", err)
	}
	// Failures to export are the collector's, never the work's: a warning.
	otel.SetLogger(logr.FromSlogHandler(log.Handler()))
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { log.Warn("tracing", "err", err) }))
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	shown := url
	if shown == "" {
		shown = "default (" + defaultEndpoint + ")"
	}
	log.Info("tracing", "service", name, "endpoint", shown)
	return &Tracing{provider: tp, tracer: tp.Tracer("bitqueue")}, nil
}

// On reports whether spans are recorded and sent.
func (t *Tracing) On() bool { return t != nil && t.provider != nil }

// Tracer returns the tracer of the command's spans: OpenTelemetry's no-op
// one when tracing is off, never nil.
func (t *Tracing) Tracer() trace.Tracer {
	if !t.On() {
		return noop.NewTracerProvider().Tracer("bitqueue")
	}
	return t.tracer
}

// Stop sends the spans not yet sent, waiting at most StopTimeout, and shuts
// tracing down; a failure is logged to log, never returned, since the
// command's work is done by then. It does nothing when tracing is off.
func (t *Tracing) Stop(log *slog.Logger) {
	if !t.On() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), StopTimeout)
	defer cancel()
	if err := t.provider.Shutdown(ctx); err != nil {
		log.Warn("tracing: spans not sent at exit", "err", err)
	}
}

// End ends span, recording err, when not nil, as its error and status.
func End(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}
