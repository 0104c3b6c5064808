package oidc_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// BenchmarkClientCredentials measures the whole client_credentials path in process:
// routing, secret check, claims, ES256 signature, JSON.
func BenchmarkClientCredentials(b *testing.B) {
	e := newEnv(b)
	h := e.p.Handler()
	body := url.Values{"grant_type": {"client_credentials"}, "scope": {"api.read"}}.Encode()
	secret := e.secrets["svc"][0]
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, e.issuer+"/oauth/token", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth("svc", secret)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
		}
	})
}
