package oidc_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// jwtHeader decodes the protected header of a compact JWS.
func jwtHeader(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

func jwtClaims(t *testing.T, tok string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func oauthErrorCode(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return ""
}

func TestCodeFlowWithPKCEIssuesVerifiableTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.rp("web", webRedirect, "profile", "email", "groups", "roles")
	tok, idt := r.login("n-0S6_WzA2Mj")

	if idt.Nonce != "n-0S6_WzA2Mj" {
		t.Errorf("nonce %q", idt.Nonce)
	}
	if idt.Subject != e.user.ID {
		t.Errorf("sub %q, want %q", idt.Subject, e.user.ID)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Errorf("at_hash: %v", err)
	}
	var claims struct {
		AuthTime int64    `json:"auth_time"`
		AMR      []string `json:"amr"`
		ACR      string   `json:"acr"`
		SID      string   `json:"sid"`
		Groups   []string `json:"groups"`
		Roles    []string `json:"roles"`
		Email    string   `json:"email"`
	}
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if claims.AuthTime != e.clock.Now().Unix() {
		t.Errorf("auth_time %d, want %d", claims.AuthTime, e.clock.Now().Unix())
	}
	if !slices.Equal(claims.AMR, []string{"pwd", "otp", "mfa"}) || claims.ACR != "urn:portcullis:acr:mfa" {
		t.Errorf("amr %v acr %q", claims.AMR, claims.ACR)
	}
	if claims.SID == "" {
		t.Error("no sid")
	}
	if !slices.Equal(claims.Groups, []string{"admins"}) {
		t.Errorf("groups %v", claims.Groups)
	}
	if !slices.Equal(claims.Roles, []string{"auditor"}) {
		t.Errorf("roles claim %v", claims.Roles)
	}

	// RFC 9068: the access token is an at+jwt with the profile's claims.
	if h := jwtHeader(t, tok.AccessToken); h["typ"] != "at+jwt" || h["kid"] == "" || h["alg"] != "ES256" {
		t.Errorf("access token header %v", h)
	}
	ac := jwtClaims(t, tok.AccessToken)
	for _, k := range []string{"iss", "sub", "aud", "exp", "iat", "jti", "client_id", "scope", "auth_time", "sid", "gid"} {
		if _, ok := ac[k]; !ok {
			t.Errorf("access token lacks %s: %v", k, ac)
		}
	}
	if ac["client_id"] != "web" || ac["sub"] != e.user.ID || !strings.Contains(ac["scope"].(string), "groups") {
		t.Errorf("access token claims %v", ac)
	}
	if tok.RefreshToken != "" {
		t.Error("refresh token issued without offline_access")
	}

	status, info := e.userinfo(tok.AccessToken)
	if status != http.StatusOK || info["sub"] != e.user.ID || info["email"] != "alice@example.com" ||
		info["preferred_username"] != "alice" {
		t.Errorf("userinfo %d %v", status, info)
	}
	if g, _ := info["groups"].([]any); len(g) != 1 || g[0] != "admins" {
		t.Errorf("userinfo groups %v", info["groups"])
	}
}

func TestTamperedIDTokenIsRejectedByRP(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.rp("web", webRedirect)
	tok, _ := r.login("n1")
	raw := tok.Extra("id_token").(string)
	parts := strings.Split(raw, ".")
	c := jwtClaims(t, raw)
	c["sub"] = "someone-else"
	b, _ := json.Marshal(c)
	forged := parts[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + parts[2]
	if _, err := r.verifier.Verify(r.ctx, forged); err == nil {
		t.Fatal("tampered id_token verified")
	}
}

func TestRefreshRotatesAndReuseRevokesFamily(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.rp("web", webRedirect, "offline_access")
	tok, _ := r.login("n")
	if tok.RefreshToken == "" {
		t.Fatal("no refresh token")
	}
	first := tok.RefreshToken

	tok2, err := r.refresh(first)
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if tok2.RefreshToken == "" || tok2.RefreshToken == first {
		t.Fatal("refresh token not rotated")
	}
	raw, _ := tok2.Extra("id_token").(string)
	idt, err := r.verifier.Verify(r.ctx, raw)
	if err != nil || idt.Subject != e.user.ID {
		t.Fatalf("refreshed id_token: %v", err)
	}
	if active, _ := e.introspect(tok2.AccessToken, "web"); !active {
		t.Fatal("fresh access token inactive")
	}

	// The old token again: the family dies, including the newer token and its AT.
	if _, err := r.refresh(first); oauthErrorCode(err) != "invalid_grant" {
		t.Fatalf("reuse: %v, want invalid_grant", err)
	}
	if _, err := r.refresh(tok2.RefreshToken); oauthErrorCode(err) != "invalid_grant" {
		t.Fatalf("newer token after reuse: %v, want invalid_grant", err)
	}
	if active, _ := e.introspect(tok2.AccessToken, "web"); active {
		t.Fatal("access token of a revoked family still active")
	}
	if e.tokenCount("authorization_code") != 1 || e.tokenCount("refresh_token") != 1 {
		t.Errorf("OnToken counts %v: failed responses must not count", e.tokens)
	}
	if !e.audit.has("oidc.refresh_replay") {
		t.Error("replay not audited")
	}
}

func TestRefreshScopesOnlyNarrowAndStayWithClient(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.rp("web", webRedirect, "offline_access", "email")
	tok, _ := r.login("n")

	// x/oauth2 does not send scope on refresh, so these requests are built by hand.
	refresh := func(rt, scope string) (int, map[string]any) {
		resp, m := e.post("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt},
			"scope": {scope}}, "web", e.secrets["web"][0])
		return resp.StatusCode, m
	}
	if status, m := refresh(tok.RefreshToken, "openid offline_access email groups"); status != http.StatusBadRequest || m["error"] != "invalid_scope" {
		t.Fatalf("wider scope: %d %v", status, m)
	}

	// Another client cannot use it.
	other := e.rp("other", "https://other.example/cb", "offline_access")
	if _, err := other.refresh(tok.RefreshToken); oauthErrorCode(err) != "invalid_grant" {
		t.Fatalf("other client: %v", err)
	}

	status, m := refresh(tok.RefreshToken, "openid")
	if status != http.StatusOK {
		t.Fatalf("narrow: %d %v", status, m)
	}
	if s := jwtClaims(t, m["access_token"].(string))["scope"]; s != "openid" {
		t.Errorf("narrowed scope %v", s)
	}
	// The rotated token still carries the original grant.
	status, m = refresh(m["refresh_token"].(string), "openid email")
	if status != http.StatusOK {
		t.Fatalf("refresh after narrowing: %d %v", status, m)
	}
}

func TestRefreshTokenExpiresWhenIdle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.rp("web", webRedirect, "offline_access")
	tok, _ := r.login("n")
	e.clock.Advance(25 * time.Hour)
	if _, err := r.refresh(tok.RefreshToken); oauthErrorCode(err) != "invalid_grant" {
		t.Fatalf("idle token: %v", err)
	}
}

func TestReusedCodeRevokesTokensIssuedFromIt(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.rp("web", webRedirect, "offline_access")
	code, verifier := r.code(e.browser(), "n")
	tok, err := r.exchange(code, verifier)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.exchange(code, verifier); oauthErrorCode(err) != "invalid_grant" {
		t.Fatalf("second exchange: %v", err)
	}
	if active, _ := e.introspect(tok.AccessToken, "web"); active {
		t.Error("access token from a replayed code still active")
	}
	if _, err := r.refresh(tok.RefreshToken); oauthErrorCode(err) != "invalid_grant" {
		t.Errorf("refresh token from a replayed code: %v", err)
	}
	if !e.audit.has("oidc.code_replay") {
		t.Error("code replay not audited")
	}
}

func TestCodeIsBoundToClient(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.rp("web", webRedirect)
	code, verifier := r.code(e.browser(), "n")
	thief := e.rp("other", webRedirect)
	if _, err := thief.exchange(code, verifier); oauthErrorCode(err) != "invalid_grant" {
		t.Fatalf("other client redeemed the code: %v", err)
	}
}

func TestWrongPKCEVerifierIsInvalidGrant(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.rp("spa", spaRedirect)
	code, _ := r.code(e.browser(), "n")
	if _, err := r.exchange(code, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"); oauthErrorCode(err) != "invalid_grant" {
		t.Fatalf("wrong verifier: %v", err)
	}
}

func TestPublicClientCodeFlow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.rp("spa", spaRedirect, "offline_access")
	tok, idt := r.login("n")
	if idt.Subject != e.user.ID || tok.RefreshToken == "" {
		t.Fatalf("public client: sub %q, refresh %q", idt.Subject, tok.RefreshToken)
	}
}

func TestOpaqueAccessTokenClient(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.rp("opaque", "http://127.0.0.1/opaque-cb", "email")
	tok, idt := r.login("n")
	if !strings.HasPrefix(tok.AccessToken, "pcat_") || strings.Count(tok.AccessToken, ".") != 0 {
		t.Fatalf("not an opaque token: %q", tok.AccessToken)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Errorf("at_hash: %v", err)
	}
	active, m := e.introspect(tok.AccessToken, "opaque")
	if !active || m["sub"] != e.user.ID || m["client_id"] != "opaque" {
		t.Errorf("introspection %v", m)
	}
	if status, info := e.userinfo(tok.AccessToken); status != http.StatusOK || info["email"] != "alice@example.com" {
		t.Errorf("userinfo %d %v", status, info)
	}
	// A flipped byte breaks the seal.
	b := []byte(tok.AccessToken)
	b[len(b)-3] ^= 1
	if active, _ := e.introspect(string(b), "opaque"); active {
		t.Error("tampered opaque token active")
	}
}

func TestUserinfoRefusesIDTokenAndRevokedUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.rp("web", webRedirect, "profile")
	tok, _ := r.login("n")
	if status, _ := e.userinfo(tok.Extra("id_token").(string)); status == http.StatusOK {
		t.Error("ID token accepted as an access token")
	}
	if status, _ := e.userinfo(""); status == http.StatusOK {
		t.Error("empty token accepted")
	}
	u := e.user
	u.Active = false
	if _, err := e.st.UpdateUser(e.ctx, u); err != nil {
		t.Fatal(err)
	}
	if status, _ := e.userinfo(tok.AccessToken); status == http.StatusOK {
		t.Error("token of a deactivated user accepted")
	}
}

func TestPromptNone(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.rp("web", webRedirect)
	_, challenge := pkce()
	params := url.Values{"client_id": {"web"}, "redirect_uri": {webRedirect}, "response_type": {"code"},
		"scope": {"openid"}, "state": {"st1"}, "prompt": {"none"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}}

	// No session: login_required at the client, never the login UI.
	_, loc := e.authorize(e.browser(), params)
	if loc == nil || loc.Query().Get("error") != "login_required" || loc.Query().Get("state") != "st1" ||
		loc.Query().Get("iss") != e.issuer || !strings.HasPrefix(loc.String(), webRedirect) {
		t.Fatalf("prompt=none without session: %v", loc)
	}
	if e.hits() != 0 {
		t.Fatal("login UI shown for prompt=none")
	}

	// With a session: a code without UI.
	b := e.browser()
	r.code(b, "n") // logs in, sets the session cookie
	hits := e.hits()
	_, loc = e.authorize(b, params)
	if loc == nil || loc.Query().Get("code") == "" || e.hits() != hits {
		t.Fatalf("prompt=none with session: %v (login hits %d -> %d)", loc, hits, e.hits())
	}

	// max_age exceeded: login_required.
	e.clock.Advance(2 * time.Minute)
	params.Set("max_age", "60")
	_, loc = e.authorize(b, params)
	if loc == nil || loc.Query().Get("error") != "login_required" {
		t.Fatalf("prompt=none past max_age: %v", loc)
	}
}

func TestCallbackBoundToBrowserSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.rp("web", webRedirect)
	b := e.browser()
	b.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	_, challenge := pkce()
	resp, err := b.Get(r.cfg.AuthCodeURL("s", oauth2.SetAuthURLParam("code_challenge", challenge),
		oauth2.SetAuthURLParam("code_challenge_method", "S256")))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = b.Get(e.issuer + resp.Header.Get("Location")) // the login UI
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	callback := resp.Header.Get("Location")
	if !strings.Contains(callback, "/authorize/callback?id=") {
		t.Fatalf("login did not lead to the callback: %q", callback)
	}
	// Another browser (no session cookie) cannot collect the code.
	resp, err = e.srv.Client().Get(callback)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("callback from another browser: %d", resp.StatusCode)
	}
}
