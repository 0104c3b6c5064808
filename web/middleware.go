package web

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"time"

	"github.com/portcullis-id/portcullis/idp/audit"
)

// statusWriter remembers the status code for logs and metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// newRequestID returns 16 random hex characters: enough to correlate, too short to be
// mistaken for a credential.
func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// withRequestID gives every request an id, echoed in X-Request-Id and carried in the
// context for logs and audit events. An incoming X-Request-Id is not trusted: a client
// could otherwise forge correlation with someone else's request.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := newRequestID()
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(audit.WithRequestID(r.Context(), id)))
	})
}

// securityHeaders applies the headers every response gets. Pages are same-origin only,
// cannot be framed (clickjacking of the login form) and do not leak the URL (which can
// carry an auth request id) through Referer.
func securityHeaders(https bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; connect-src 'self'; form-action 'self' http: https:; frame-ancestors 'none'; base-uri 'none'")
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("X-Frame-Options", "DENY")
			h.Set("Referrer-Policy", "no-referrer")
			h.Set("Cross-Origin-Opener-Policy", "same-origin")
			if https {
				h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
			}
			next.ServeHTTP(w, r)
		})
	}
}

// recoverer turns a panic into a 500 and a log line instead of a dropped connection.
func recoverer(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				if v := recover(); v != nil {
					if v == http.ErrAbortHandler {
						panic(v)
					}
					log.ErrorContext(r.Context(), "handler panic", "panic", v, "path", r.URL.Path, "request_id", audit.RequestIDFrom(r.Context()))
					http.Error(w, "internal error", http.StatusInternalServerError)
				}
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// observe logs one line per request and feeds the request metrics.
func observe(log *slog.Logger, m *Metrics) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			sw := &statusWriter{ResponseWriter: w}
			next.ServeHTTP(sw, r)
			if sw.status == 0 {
				sw.status = http.StatusOK
			}
			d := time.Since(start)
			route := routeLabel(r)
			m.observeRequest(route, r.Method, sw.status, d)
			// The query string is not logged: it can carry codes and tokens.
			log.LogAttrs(r.Context(), slog.LevelInfo, "http request",
				slog.String("request_id", audit.RequestIDFrom(r.Context())),
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.String("route", route),
				slog.Int("status", sw.status),
				slog.Int("bytes", sw.bytes),
				slog.Duration("duration", d),
			)
		})
	}
}

// opRoutes are the provider's paths, all served behind the "/" pattern; naming them keeps
// the metric's route label bounded and useful.
var opRoutes = map[string]bool{
	"/.well-known/openid-configuration": true, "/authorize": true, "/authorize/callback": true,
	"/oauth/token": true, "/oauth/introspect": true, "/userinfo": true, "/revoke": true,
	"/end_session": true, "/keys": true,
}

func routeLabel(r *http.Request) string {
	p := r.Pattern
	if p == "" || p == "/" {
		if opRoutes[r.URL.Path] {
			return r.URL.Path
		}
		return "other"
	}
	return p
}
