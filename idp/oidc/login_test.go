package oidc_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"

	poidc "github.com/portcullis-id/portcullis/idp/oidc"
	"github.com/portcullis-id/portcullis/store"
)

// startAuthorize sends a browser to /authorize and returns the auth request id the
// login UI would receive.
func startAuthorize(t *testing.T, e *env, extra url.Values) string {
	t.Helper()
	_, challenge := pkce()
	params := url.Values{"client_id": {"web"}, "redirect_uri": {webRedirect}, "response_type": {"code"},
		"scope": {"openid"}, "state": {"st"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	for k, v := range extra {
		params[k] = v
	}
	b := e.browser()
	b.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	_, loc := e.authorize(b, params)
	if loc == nil || loc.Path != "/login" {
		t.Fatalf("not sent to the login UI: %v", loc)
	}
	return loc.Query().Get("authRequestID")
}

func TestAuthRequestCarriesPromptAndMaxAgeForTheUI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := startAuthorize(t, e, url.Values{"max_age": {"300"}, "login_hint": {"alice"}, "acr_values": {"urn:a urn:b"}})
	ar, c, err := e.p.AuthRequest(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != "web" || ar.MaxAge == nil || *ar.MaxAge != 5*time.Minute || ar.LoginHint != "alice" ||
		len(ar.ACRValues) != 2 || ar.CodeChallengeMethod != "S256" || ar.Done {
		t.Errorf("auth request %+v", ar)
	}
	id = startAuthorize(t, e, url.Values{"prompt": {"login"}})
	ar, _, err = e.p.AuthRequest(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(ar.Prompt) != 1 || ar.Prompt[0] != "login" || ar.MaxAge == nil || *ar.MaxAge != 0 {
		t.Errorf("prompt=login request %+v", ar)
	}
}

func TestDenyAuthRequest(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := startAuthorize(t, e, nil)
	to, err := e.p.DenyAuthRequest(e.ctx, id, zoidc.ErrAccessDenied().WithDescription("user cancelled"))
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(to)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if !strings.HasPrefix(to, webRedirect+"?") || q.Get("error") != "access_denied" || q.Get("state") != "st" ||
		q.Get("iss") != e.issuer || q.Get("error_description") != "user cancelled" {
		t.Errorf("deny redirect %s", to)
	}
	if _, _, err := e.p.AuthRequest(e.ctx, id); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("denied request still there: %v", err)
	}
}

func TestCompleteAuthRequestRefusesBadSessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := startAuthorize(t, e, nil)
	now := e.clock.Now()
	s := store.Session{ID: "s1", UserID: e.user.ID, AuthTime: now, ExpiresAt: now.Add(time.Hour)}

	expired := s
	expired.ExpiresAt = now.Add(-time.Second)
	if _, err := e.p.CompleteAuthRequest(e.ctx, nil, id, expired); !errors.Is(err, poidc.ErrSessionInvalid) {
		t.Errorf("expired session: %v", err)
	}
	revoked := s
	revoked.Revoked = true
	if _, err := e.p.CompleteAuthRequest(e.ctx, nil, id, revoked); !errors.Is(err, poidc.ErrSessionInvalid) {
		t.Errorf("revoked session: %v", err)
	}
	if _, err := e.p.CompleteAuthRequest(e.ctx, nil, "no-such-request", s); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown request: %v", err)
	}
	to, err := e.p.CompleteAuthRequest(e.ctx, nil, id, s)
	if err != nil || to != e.issuer+"/authorize/callback?id="+url.QueryEscape(id) {
		t.Fatalf("complete: %q %v", to, err)
	}
	other := s
	other.ID = "s2"
	if _, err := e.p.CompleteAuthRequest(e.ctx, nil, id, other); !errors.Is(err, poidc.ErrAuthRequestDone) {
		t.Errorf("second session: %v", err)
	}

	// An inactive user cannot complete a request.
	id = startAuthorize(t, e, nil)
	u := e.user
	u.Active = false
	if _, err := e.st.UpdateUser(e.ctx, u); err != nil {
		t.Fatal(err)
	}
	if _, err := e.p.CompleteAuthRequest(e.ctx, nil, id, s); !errors.Is(err, poidc.ErrSessionInvalid) {
		t.Errorf("inactive user: %v", err)
	}
}

func TestRefreshReuseGraceWindow(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, envOpts{cfg: func(c *poidc.Config) { c.RefreshReuseGrace = 5 * time.Second }})
	r := e.rp("web", webRedirect, "offline_access")
	tok, _ := r.login("n")
	next, err := r.refresh(tok.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	// A retry within the grace window (the first response was lost) succeeds.
	retry, err := r.refresh(tok.RefreshToken)
	if err != nil {
		t.Fatalf("retry within grace: %v", err)
	}
	if _, err := r.refresh(next.RefreshToken); err != nil {
		t.Fatalf("first rotation's token after a grace retry: %v", err)
	}
	// After the window the same replay revokes the family.
	e.clock.Advance(6 * time.Second)
	if _, err := r.refresh(tok.RefreshToken); oauthErrorCode(err) != "invalid_grant" {
		t.Fatalf("replay after grace: %v", err)
	}
	if _, err := r.refresh(retry.RefreshToken); oauthErrorCode(err) != "invalid_grant" {
		t.Fatalf("family after replay: %v", err)
	}
}

func TestEdDSAKeys(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, envOpts{alg: "EdDSA"})
	r := e.rp("web", webRedirect)
	b := e.browser()
	code, verifier := r.code(b, "n")
	tok, err := r.exchange(code, verifier)
	if err != nil {
		t.Fatal(err)
	}
	raw := tok.Extra("id_token").(string)
	idt, err := r.verifier.Verify(r.ctx, raw)
	if err != nil {
		t.Fatalf("EdDSA id_token: %v", err)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Errorf("at_hash (SHA-512 for EdDSA): %v", err)
	}
	if active, _ := e.introspect(tok.AccessToken, "web"); !active {
		t.Error("EdDSA access token inactive")
	}
	// op's id_token_hint verifier accepts EdDSA: a registered redirect is honoured.
	nb := *b
	nb.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := nb.Get(e.issuer + "/end_session?" + url.Values{"id_token_hint": {raw},
		"post_logout_redirect_uri": {logoutRedirect}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, logoutRedirect) {
		t.Errorf("end_session with an EdDSA hint: %q", loc)
	}
}

func TestIssuerWithPath(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, envOpts{path: "/idp"})
	r := e.rp("web", webRedirect, "offline_access")
	tok, idt := r.login("n")
	if idt.Issuer != e.issuer {
		t.Errorf("iss %q, want %q", idt.Issuer, e.issuer)
	}
	if active, _ := e.introspect(tok.AccessToken, "web"); !active {
		t.Error("access token inactive")
	}
	if _, err := r.refresh(tok.RefreshToken); err != nil {
		t.Errorf("refresh: %v", err)
	}
	resp, err := e.srv.Client().Get(e.issuer + "/keys")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("keys under the issuer path: %d", resp.StatusCode)
	}
}
