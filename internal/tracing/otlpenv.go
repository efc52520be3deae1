package tracing

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// defaultEndpoint is where spans go when no endpoint variable is set.
const defaultEndpoint = "http://localhost:4318/v1/traces"

// defaultTimeout bounds an export, its retries included, when no
// OTEL_EXPORTER_OTLP_(TRACES_)TIMEOUT is set.
const defaultTimeout = 10 * time.Second

// otlpVar returns the name and value of the OTLP exporter's setting
// OTEL_EXPORTER_OTLP_TRACES_<name>, or, when that is not set, of the
// general OTEL_EXPORTER_OTLP_<name>.
func otlpVar(getenv func(string) string, name string) (string, string) {
	if v := getenv("OTEL_EXPORTER_OTLP_TRACES_" + name); v != "" {
		return "OTEL_EXPORTER_OTLP_TRACES_" + name, v
	}
	return "OTEL_EXPORTER_OTLP_" + name, getenv("OTEL_EXPORTER_OTLP_" + name)
}

// newClient returns the client sending spans to endpoint (defaultEndpoint
// when "") with the headers, timeout, compression and certificates of the
// environment read through getenv, or an *EnvError for a value it cannot
// use.
func newClient(getenv func(string) string, endpoint string) (*otlpClient, error) {
	c := &otlpClient{url: endpoint, header: http.Header{}, timeout: defaultTimeout}
	if c.url == "" {
		c.url = defaultEndpoint
	}
	if name, v := otlpVar(getenv, "HEADERS"); v != "" {
		if err := parseHeaders(c.header, name, v); err != nil {
			return nil, err
		}
	}
	if name, v := otlpVar(getenv, "TIMEOUT"); v != "" {
		ms, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || ms <= 0 {
			return nil, &EnvError{Var: name, Value: v, Want: "want a positive whole number of milliseconds such as 10000"}
		}
		c.timeout = time.Duration(ms) * time.Millisecond
	}
	switch name, v := otlpVar(getenv, "COMPRESSION"); strings.TrimSpace(v) {
	case "gzip":
		c.gzip = true
	case "", "none":
	default:
		return nil, &EnvError{Var: name, Value: v, Want: "want gzip or none"}
	}
	tlsConf, err := tlsConfig(getenv)
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsConf
	c.http = &http.Client{Transport: tr}
	return c, nil
}

// parseHeaders adds to h the headers of v, the value of the variable name:
// key=value pairs separated by commas, values URL-encoded. Its error shows
// v with the values hidden, since they are often secrets.
func parseHeaders(h http.Header, name, v string) error {
	pairs := strings.Split(v, ",")
	var hidden []string
	for _, kv := range pairs {
		if k, _, ok := strings.Cut(kv, "="); ok {
			hidden = append(hidden, k+"=…")
		} else {
			hidden = append(hidden, "…")
		}
	}
	bad := func(i int, why string) error {
		return &EnvError{Var: name, Value: strings.Join(hidden, ","),
			Want: fmt.Sprintf("want key=value pairs separated by commas, values URL-encoded, such as api-key=secret,team=jobs%%20queue: pair %d %s", i+1, why)}
	}
	for i, kv := range pairs {
		if strings.TrimSpace(kv) == "" {
			continue
		}
		k, val, ok := strings.Cut(kv, "=")
		k = strings.TrimSpace(k)
		val, err := url.PathUnescape(val)
		switch {
		case !ok:
			return bad(i, "has no =")
		case !headerName(k):
			return bad(i, "has no header name")
		case err != nil || strings.ContainsFunc(val, isControl):
			return bad(i, "has a value that is not URL-encoded text")
		}
		h.Set(k, strings.TrimSpace(val))
	}
	return nil
}

// headerName reports whether k can name an HTTP header: a token of
// RFC 9110, non-empty.
func headerName(k string) bool {
	return k != "" && !strings.ContainsFunc(k, func(r rune) bool {
		return r <= ' ' || r >= 0x7f || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r)
	})
}

// isControl reports whether r is a control character, which no header
// value may hold (a tab aside).
func isControl(r rune) bool { return (r < ' ' && r != '\t') || r == 0x7f }

// tlsConfig returns the TLS settings of an https endpoint: the CA
// certificates of OTEL_EXPORTER_OTLP_(TRACES_)CERTIFICATE, and the client
// certificate and key of OTEL_EXPORTER_OTLP_(TRACES_)CLIENT_CERTIFICATE and
// _CLIENT_KEY; nil when none is set.
func tlsConfig(getenv func(string) string) (*tls.Config, error) {
	caVar, ca := otlpVar(getenv, "CERTIFICATE")
	certVar, cert := otlpVar(getenv, "CLIENT_CERTIFICATE")
	keyVar, key := otlpVar(getenv, "CLIENT_KEY")
	if ca == "" && cert == "" && key == "" {
		return nil, nil
	}
	conf := &tls.Config{MinVersion: tls.VersionTLS12}
	if ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, &EnvError{Var: caVar, Value: ca, Want: "want a readable PEM file of CA certificates (" + err.Error() + ")"}
		}
		conf.RootCAs = x509.NewCertPool()
		if !conf.RootCAs.AppendCertsFromPEM(pem) {
			return nil, &EnvError{Var: caVar, Value: ca, Want: "want a PEM file of CA certificates: the file holds none"}
		}
	}
	switch {
	case cert == "" && key == "":
	case key == "":
		return nil, &EnvError{Var: certVar, Value: cert, Want: "want " + keyVar + " too, the file of its private key"}
	case cert == "":
		return nil, &EnvError{Var: keyVar, Value: key, Want: "want " + certVar + " too, the file of its certificate"}
	default:
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, &EnvError{Var: certVar, Value: cert, Want: "want a PEM certificate matching the key of " + keyVar + " (" + err.Error() + ")"}
		}
		conf.Certificates = []tls.Certificate{pair}
	}
	return conf, nil
}
