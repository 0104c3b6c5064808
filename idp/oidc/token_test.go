package oidc_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestIntrospection(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.rp("web", webRedirect, "email")
	tok, idt := r.login("n")

	active, m := e.introspect(tok.AccessToken, "web")
	if !active || m["sub"] != e.user.ID || m["client_id"] != "web" || m["username"] != "alice" ||
		m["iss"] != e.issuer || m["token_type"] != "Bearer" || !strings.Contains(m["scope"].(string), "email") {
		t.Fatalf("own token: %v", m)
	}
	inactive := func(name, token, caller string) {
		t.Helper()
		active, m := e.introspect(token, caller)
		if active || len(m) != 1 {
			t.Errorf("%s: %v, want only active=false", name, m)
		}
	}
	inactive("other client", tok.AccessToken, "other")
	inactive("id token", tok.Extra("id_token").(string), "web")
	inactive("garbage", "not-a-token", "web")
	_ = idt

	// Public clients cannot introspect; a bad secret is 401.
	resp, _ := e.post("/oauth/introspect", url.Values{"token": {tok.AccessToken}}, "web", "wrong")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("bad caller secret: %d", resp.StatusCode)
	}

	// Expiry.
	e.clock.Advance(11 * time.Minute)
	inactive("expired", tok.AccessToken, "web")
}

func TestRevocation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.rp("web", webRedirect, "offline_access")
	tok, _ := r.login("n")
	revoke := func(token, hint, client string) {
		t.Helper()
		form := url.Values{"token": {token}}
		if hint != "" {
			form.Set("token_type_hint", hint)
		}
		resp, _ := e.post("/revoke", form, client, e.secrets[client][0])
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("revoke: status %d", resp.StatusCode)
		}
	}

	// RFC 7009 §2.2: unknown tokens are 200 too.
	revoke("unknown-token", "", "web")

	// Another client's attempt is a silent no-op.
	revoke(tok.AccessToken, "access_token", "other")
	revoke(tok.RefreshToken, "", "other")
	if active, _ := e.introspect(tok.AccessToken, "web"); !active {
		t.Fatal("another client revoked our access token")
	}
	if _, err := r.refresh(tok.RefreshToken); err != nil {
		t.Fatalf("another client revoked our refresh token: %v", err)
	}

	// A fresh grant: revoke its access token only.
	tok, _ = r.login("n2")
	revoke(tok.AccessToken, "access_token", "web")
	if active, _ := e.introspect(tok.AccessToken, "web"); active {
		t.Error("revoked access token active")
	}
	if status, _ := e.userinfo(tok.AccessToken); status == http.StatusOK {
		t.Error("revoked access token accepted at userinfo")
	}
	// Revoking the refresh token (with a wrong hint) ends the grant's access tokens too.
	tok2, err := r.refresh(tok.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	revoke(tok2.RefreshToken, "access_token", "web")
	if _, err := r.refresh(tok2.RefreshToken); oauthErrorCode(err) != "invalid_grant" {
		t.Errorf("revoked refresh token: %v", err)
	}
	if active, _ := e.introspect(tok2.AccessToken, "web"); active {
		t.Error("access token of a revoked refresh token active")
	}
}

func TestClientCredentials(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	grant := func(id, secret, scope string) (int, map[string]any) {
		resp, m := e.post("/oauth/token", url.Values{"grant_type": {"client_credentials"}, "scope": {scope}}, id, secret)
		return resp.StatusCode, m
	}
	for i, secret := range e.secrets["svc"] {
		status, m := grant("svc", secret, "api.read admin openid")
		if status != http.StatusOK {
			t.Fatalf("secret %d: %d %v", i, status, m)
		}
		if m["scope"] != "api.read" || m["refresh_token"] != nil || m["id_token"] != nil {
			t.Errorf("secret %d: response %v", i, m)
		}
		c := jwtClaims(t, m["access_token"].(string))
		if c["sub"] != "svc" || c["client_id"] != "svc" || c["gid"] != nil ||
			!slices.Equal(toStrings(c["aud"]), []string{"svc"}) {
			t.Errorf("claims %v", c)
		}
		if active, im := e.introspect(m["access_token"].(string), "svc"); !active || im["sub"] != "svc" {
			t.Errorf("introspection %v", im)
		}
	}

	if n := e.tokenCount("client_credentials"); n != 2 {
		t.Errorf("OnToken counted %d client_credentials responses, want 2", n)
	}

	// Secret expiry: the second secret expires.
	c, err := e.st.GetClient(e.ctx, "svc")
	if err != nil {
		t.Fatal(err)
	}
	c.Secrets[1].ExpiresAt = e.clock.Now().Add(time.Minute)
	if _, err := e.st.UpdateClient(e.ctx, c); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Minute)
	if status, m := grant("svc", e.secrets["svc"][1], "api.read"); status != http.StatusUnauthorized || m["error"] != "invalid_client" {
		t.Errorf("expired secret: %d %v", status, m)
	}
	if status, _ := grant("svc", e.secrets["svc"][0], "api.read"); status != http.StatusOK {
		t.Errorf("live secret after the other expired: %d", status)
	}

	// Clients without the grant, public clients, unknown clients.
	if status, m := grant("web", e.secrets["web"][0], ""); status != http.StatusBadRequest || m["error"] != "unauthorized_client" {
		t.Errorf("client without the grant: %d %v", status, m)
	}
	if status, _ := grant("spa", "", ""); status != http.StatusUnauthorized {
		t.Errorf("public client: %d", status)
	}
	if status, _ := grant("ghost", "x", ""); status != http.StatusUnauthorized {
		t.Errorf("unknown client: %d", status)
	}
}

func TestClientSecretFailuresAreThrottled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for range 5 {
		resp, _ := e.post("/oauth/token", url.Values{"grant_type": {"client_credentials"}}, "svc", "wrong")
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong secret: %d", resp.StatusCode)
		}
	}
	resp, m := e.post("/oauth/token", url.Values{"grant_type": {"client_credentials"}}, "svc", e.secrets["svc"][0])
	if resp.StatusCode != http.StatusUnauthorized || m["error"] != "invalid_client" {
		t.Fatalf("locked client with the right secret: %d %v", resp.StatusCode, m)
	}
	e.clock.Advance(2 * time.Minute)
	resp, _ = e.post("/oauth/token", url.Values{"grant_type": {"client_credentials"}}, "svc", e.secrets["svc"][0])
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("after the lockout: %d", resp.StatusCode)
	}
}

func toStrings(v any) []string {
	var out []string
	switch x := v.(type) {
	case string:
		out = append(out, x)
	case []any:
		for _, s := range x {
			out = append(out, s.(string))
		}
	}
	return out
}

func TestTokenEndpointHardening(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	svc := e.secrets["svc"][0]

	// GET would put the secret in logs and caches (RFC 6749 §3.2).
	for _, path := range []string{"/oauth/token", "/oauth/introspect", "/revoke"} {
		req, _ := http.NewRequest(http.MethodGet, e.issuer+path+"?grant_type=client_credentials&client_id=svc&client_secret="+url.QueryEscape(svc), nil)
		resp, _ := e.do(req)
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != http.MethodPost {
			t.Errorf("GET %s: %d Allow=%q", path, resp.StatusCode, resp.Header.Get("Allow"))
		}
	}
	for _, g := range []string{
		"urn:ietf:params:oauth:grant-type:jwt-bearer",
		"urn:ietf:params:oauth:grant-type:device_code",
		"urn:ietf:params:oauth:grant-type:token-exchange",
		"password", "implicit",
	} {
		resp, m := e.post("/oauth/token", url.Values{"grant_type": {g}, "assertion": {"x"}}, "svc", svc)
		if resp.StatusCode != http.StatusBadRequest || m["error"] != "unsupported_grant_type" {
			t.Errorf("grant %s: %d %v", g, resp.StatusCode, m)
		}
	}

	resp, _ := e.post("/oauth/token", url.Values{"grant_type": {"client_credentials"}}, "svc", svc)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Pragma") != "no-cache" {
		t.Errorf("token response: %d Cache-Control=%q Pragma=%q", resp.StatusCode,
			resp.Header.Get("Cache-Control"), resp.Header.Get("Pragma"))
	}
	for _, path := range []string{"/oauth/introspect", "/revoke", "/userinfo", "/authorize"} {
		resp, _ := e.post(path, url.Values{"token": {"x"}}, "svc", svc)
		if resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control=%q", path, resp.Header.Get("Cache-Control"))
		}
	}

	// Form secrets in the query string are refused even on POST.
	req, _ := http.NewRequest(http.MethodPost, e.issuer+"/oauth/token?client_secret=x", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("svc", svc)
	if resp, _ := e.do(req); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("query parameters on POST: %d", resp.StatusCode)
	}

	// Device authorization is not offered.
	if resp, _ := e.post("/device_authorization", url.Values{"client_id": {"spa"}}, "", ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("device authorization: %d", resp.StatusCode)
	}
}

func TestCORSOnlyForRegisteredOrigins(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	preflight := func(origin string) *http.Response {
		req, _ := http.NewRequest(http.MethodOptions, e.issuer+"/oauth/token", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type")
		resp, _ := e.do(req)
		return resp
	}
	resp := preflight("http://127.0.0.1")
	if resp.Header.Get("Access-Control-Allow-Origin") != "http://127.0.0.1" {
		t.Errorf("registered origin: %v", resp.Header)
	}
	if resp.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Error("credentials allowed cross-origin")
	}
	if resp := preflight("https://evil.example"); resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("foreign origin allowed: %v", resp.Header)
	}
}

func TestDiscoveryIsTruthful(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	resp, err := e.srv.Client().Get(e.issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var d map[string]any
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"grant_types_supported":                 {"authorization_code", "refresh_token", "client_credentials"},
		"response_types_supported":              {"code"},
		"code_challenge_methods_supported":      {"S256"},
		"id_token_signing_alg_values_supported": {"ES256"},
		"token_endpoint_auth_methods_supported": {"client_secret_basic", "client_secret_post", "none"},
	}
	for k, v := range want {
		if got := toStrings(d[k]); !slices.Equal(got, v) {
			t.Errorf("%s = %v, want %v", k, got, v)
		}
	}
	if d["issuer"] != e.issuer || d["request_uri_parameter_supported"] != false ||
		d["authorization_response_iss_parameter_supported"] != true {
		t.Errorf("discovery %v", d)
	}
	if _, ok := d["device_authorization_endpoint"]; ok {
		t.Error("device endpoint advertised")
	}

	resp, err = e.srv.Client().Get(e.issuer + "/keys")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ = io.ReadAll(resp.Body)
	if !strings.Contains(resp.Header.Get("Cache-Control"), "max-age") || !strings.Contains(string(body), `"kty":"EC"`) ||
		strings.Contains(string(body), `"d":`) {
		t.Errorf("keys: %s %s", resp.Header.Get("Cache-Control"), body)
	}
}

func TestClientTokenIsRefusedAtUserinfo(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	resp, m := e.post("/oauth/token", url.Values{"grant_type": {"client_credentials"}}, "svc", e.secrets["svc"][0])
	if resp.StatusCode != http.StatusOK {
		t.Fatal(m)
	}
	// userinfo is about a user (OIDC Core §5.3); a client's own token has none.
	if status, _ := e.userinfo(m["access_token"].(string)); status == http.StatusOK {
		t.Error("client token accepted at userinfo")
	}
}
