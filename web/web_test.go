package web

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

type pinger struct{ err error }

func (p pinger) Ping(context.Context) error { return p.err }

func newTestHandler(ready error) http.Handler {
	op := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/panic" {
			panic("boom")
		}
		w.Write([]byte("op"))
	})
	return Handler(Deps{Provider: op, Ready: pinger{ready}, Metrics: NewMetrics(), HTTPS: true,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	t.Parallel()
	h := newTestHandler(nil)
	for _, path := range []string{"/healthz", "/.well-known/openid-configuration", "/nope"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		hd := rec.Header()
		if !strings.Contains(hd.Get("Content-Security-Policy"), "frame-ancestors 'none'") ||
			hd.Get("X-Content-Type-Options") != "nosniff" || hd.Get("Strict-Transport-Security") == "" ||
			len(hd.Get("X-Request-Id")) != 16 {
			t.Errorf("%s: headers %v", path, hd)
		}
	}
}

func TestReadinessReflectsStore(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error
		want int
	}{{nil, 200}, {errors.New("disk gone"), 503}} {
		rec := httptest.NewRecorder()
		newTestHandler(tc.err).ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		if rec.Code != tc.want {
			t.Errorf("readyz with %v: %d, want %d", tc.err, rec.Code, tc.want)
		}
	}
}

func TestPanicBecomes500AndMetricsCountRoutes(t *testing.T) {
	t.Parallel()
	h := newTestHandler(nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/panic", nil))
	if rec.Code != 500 {
		t.Fatalf("panic: %d", rec.Code)
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/keys", nil))
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`portcullis_http_requests_total{code="200",method="GET",route="/keys"} 1`,
		`route="other"`,
		"process_resident_memory_bytes",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
