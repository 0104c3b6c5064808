package api

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/idp/regulate"
)

func TestAuthRefusesMissingInvalidRevokedExpiredAndNonAdminTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	revoked, _ := e.mintToken("old", []string{"admin"}, testNow.Add(time.Hour), true)
	expired, _ := e.mintToken("stale", []string{"admin"}, testNow.Add(-time.Second), false)
	reader, _ := e.mintToken("reader", []string{"auditor"}, testNow.Add(time.Hour), false)
	tests := []struct {
		name   string
		header string
		status int
	}{
		{"missing", "", http.StatusUnauthorized},
		{"not bearer", "Basic YWRtaW46YWRtaW4=", http.StatusUnauthorized},
		{"garbage", "Bearer nope", http.StatusUnauthorized},
		{"unknown well-formed", "Bearer pct_" + strings.Repeat("A", 43), http.StatusUnauthorized},
		{"revoked", "Bearer " + revoked, http.StatusUnauthorized},
		{"expired", "Bearer " + expired, http.StatusUnauthorized},
		{"no admin role", "Bearer " + reader, http.StatusForbidden},
		{"admin", "Bearer " + e.admin, http.StatusOK},
		{"scheme is case-insensitive", "bearer " + e.admin, http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("GET", "/users", "", nil, "Authorization", tc.header)
			expect(t, r, tc.status)
			if tc.status == http.StatusUnauthorized && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("WWW-Authenticate = %q", r.header.Get("WWW-Authenticate"))
			}
			if r.header.Get("Cache-Control") != "no-store" {
				t.Fatal("response cacheable")
			}
		})
	}
	if ev := e.rec.find("admin.user.list", "denied"); ev == nil {
		t.Fatal("refused call not audited")
	}
	if ev := e.rec.find("admin.user.list", "success"); ev != nil {
		t.Fatal("plain read audited")
	}
}

func TestRefusedChangeIsAuditedWithTheTokenAsActor(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	reader, id := e.mintToken("reader", []string{"auditor"}, testNow.Add(time.Hour), false)
	expect(t, e.do("POST", "/users", reader, map[string]any{"user_name": "mallory"}), http.StatusForbidden)
	ev := e.rec.find("admin.user.create", "denied")
	if ev == nil || ev.Actor != "token:reader/"+id {
		t.Fatalf("denied event = %+v", ev)
	}
}

func TestFailedTokenAuthenticationsAreThrottledPerAddress(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, func(d *Deps) {
		d.Regulator = regulate.New(func() time.Time { return testNow })
		d.ClientIP = func(*http.Request) string { return "192.0.2.9" }
	})
	bogus := "pct_" + strings.Repeat("A", 43)
	for range 20 {
		expect(t, e.do("GET", "/users", bogus, nil), http.StatusUnauthorized)
	}
	// Now even the right token is refused from that address, for a while.
	expect(t, e.do("GET", "/users", e.admin, nil), http.StatusTooManyRequests)
}

func TestAuthenticateForOtherGroupsReturnsTheTokenRoles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pdp, _ := e.mintToken("svc", []string{"pdp"}, testNow.Add(time.Hour), false)
	req := func(tok string) *http.Request {
		r, _ := http.NewRequest("POST", "/authz/v1/check", nil)
		if tok != "" {
			r.Header.Set("Authorization", "Bearer "+tok)
		}
		return r
	}
	actor, roles, err := e.api.Authenticate(req(pdp))
	if err != nil || !strings.HasPrefix(actor, "token:svc/") || len(roles) != 1 || roles[0] != "pdp" {
		t.Fatalf("pdp token: %q %v %v", actor, roles, err)
	}
	if _, roles, err := e.api.Authenticate(req(e.admin)); err != nil || roles[0] != "admin" {
		t.Fatalf("admin token: %v %v", roles, err)
	}
	for _, bad := range []string{"", "pct_" + strings.Repeat("B", 43)} {
		if _, _, err := e.api.Authenticate(req(bad)); err == nil {
			t.Fatalf("token %q accepted", bad)
		}
	}
}
