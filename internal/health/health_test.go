package health_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/health"
)

type report struct{ check, reason string }

func TestReady(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		reports    []report
		wantReady  bool
		wantReason string
	}{
		{"nothing reported", nil, false, "starting"},
		{"one failing check", []report{{"serve", "building cache"}}, false, "building cache"},
		{"one passing check", []report{{"serve", "building cache"}, {"serve", ""}}, true, ""},
		{"passing at once", []report{{"serve", ""}}, true, ""},
		{"second check fails", []report{{"serve", ""}, {"redis", "Redis unreachable: connection refused"}}, false, "Redis unreachable: connection refused"},
		{"second check recovers", []report{{"serve", ""}, {"redis", "down"}, {"redis", ""}}, true, ""},
		{"first reported check wins", []report{{"serve", ""}, {"redis", "down"}, {"serve", "shutting down"}}, false, "shutting down"},
		{"later failure shown once earlier passes", []report{{"serve", "x"}, {"redis", "down"}, {"serve", ""}}, false, "down"},
		{"reason on one line", []report{{"serve", "two\nlines\r\n  and  spaces "}}, false, "two lines and spaces"},
		{"white space only passes", []report{{"serve", " \n"}}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := health.New(nil)
			for _, r := range tt.reports {
				s.Report(r.check, r.reason)
			}
			ready, reason := s.Ready()
			require.Equal(t, tt.wantReady, ready)
			require.Equal(t, tt.wantReason, reason)
		})
	}
}

func TestOnChangeOnlyOnChanges(t *testing.T) {
	t.Parallel()
	var got []string
	s := health.New(func(ready bool, reason string) {
		if ready {
			got = append(got, "ready")
		} else {
			got = append(got, reason)
		}
	})
	s.Report("serve", "building cache")
	s.Report("serve", "building cache") // no change
	s.Report("serve", "waiting for Redis")
	s.Report("serve", "")
	s.Report("redis", "") // still ready
	s.Report("redis", "down")
	s.Report("redis", "down")
	s.Report("redis", "")
	s.Report("serve", "shutting down")
	require.Equal(t, []string{"building cache", "waiting for Redis", "ready", "down", "ready", "shutting down"}, got)
}

func TestConcurrentReports(t *testing.T) {
	t.Parallel()
	s := health.New(nil)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 500 {
				if (i+j)%2 == 0 {
					s.Report("c", "down")
				} else {
					s.Report("c", "")
				}
				s.Ready()
			}
		})
	}
	wg.Wait()
	s.Report("c", "")
	ready, _ := s.Ready()
	require.True(t, ready)
}

func get(t *testing.T, h http.Handler, method string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, "/", nil))
	body, err := io.ReadAll(rec.Result().Body)
	require.NoError(t, err)
	return rec.Code, string(body)
}

func TestHandlers(t *testing.T) {
	t.Parallel()
	s := health.New(nil)

	code, body := get(t, health.Healthz(), http.MethodGet)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "ok\n", body)

	code, body = get(t, s.Readyz(), http.MethodGet)
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Equal(t, "not ready: starting\n", body)

	s.Report("serve", "waiting for Redis")
	code, body = get(t, s.Readyz(), http.MethodGet)
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Equal(t, "not ready: waiting for Redis\n", body)
	require.Equal(t, 1, strings.Count(body, "\n"), "one line")

	s.Report("serve", "")
	code, body = get(t, s.Readyz(), http.MethodGet)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "ready\n", body)

	code, _ = get(t, s.Readyz(), http.MethodHead)
	require.Equal(t, http.StatusOK, code)
	for _, h := range []http.Handler{health.Healthz(), s.Readyz()} {
		code, _ = get(t, h, http.MethodPost)
		require.Equal(t, http.StatusMethodNotAllowed, code)
	}
}
