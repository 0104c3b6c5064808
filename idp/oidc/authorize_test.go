package oidc_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestAuthorizeRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, challenge := pkce()
	base := func(client, redirect string) url.Values {
		return url.Values{"client_id": {client}, "redirect_uri": {redirect}, "response_type": {"code"},
			"scope": {"openid"}, "state": {"xyz"}}
	}
	with := func(v url.Values, kv ...string) url.Values {
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	tests := []struct {
		name   string
		params url.Values
		// wantError is the error redirected to the client; "" with redirect=false means
		// a 400 page and no redirect at all.
		wantError string
		redirect  bool
	}{
		{"public client without PKCE", base("spa", spaRedirect), "invalid_request", true},
		{"plain PKCE", with(base("web", webRedirect), "code_challenge", challenge, "code_challenge_method", "plain"), "invalid_request", true},
		{"challenge without method means plain", with(base("web", webRedirect), "code_challenge", challenge), "invalid_request", true},
		{"malformed S256 challenge", with(base("web", webRedirect), "code_challenge", "short", "code_challenge_method", "S256"), "invalid_request", true},
		{"fragment response mode", with(base("web", webRedirect), "code_challenge", challenge, "code_challenge_method", "S256", "response_mode", "fragment"), "invalid_request", true},
		{"implicit flow", with(base("web", webRedirect), "response_type", "id_token"), "", false},
		{"unregistered redirect_uri", with(base("web", "https://evil.example/cb"), "code_challenge", challenge, "code_challenge_method", "S256"), "", false},
		{"redirect_uri differing in path", with(base("web", webRedirect+"/x"), "code_challenge", challenge, "code_challenge_method", "S256"), "", false},
		{"unknown client", with(base("nobody", webRedirect), "code_challenge", challenge, "code_challenge_method", "S256"), "", false},
		{"native: other host", with(base("native", "http://localhost:5000/native"), "code_challenge", challenge, "code_challenge_method", "S256"), "", false},
		{"native: other scheme", with(base("native", "https://127.0.0.1:5000/native"), "code_challenge", challenge, "code_challenge_method", "S256"), "", false},
		{"native: user info", with(base("native", "http://evil@127.0.0.1:5001/native"), "code_challenge", challenge, "code_challenge_method", "S256"), "", false},
		{"native: other path", with(base("native", "http://127.0.0.1:5001/other"), "code_challenge", challenge, "code_challenge_method", "S256"), "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, loc := e.authorize(e.browser(), tt.params)
			if !tt.redirect {
				if resp.StatusCode != http.StatusBadRequest || loc != nil {
					t.Fatalf("status %d location %v, want 400 without redirect", resp.StatusCode, loc)
				}
				return
			}
			if loc == nil {
				t.Fatalf("status %d, want a redirect", resp.StatusCode)
			}
			q := loc.Query()
			if loc.Fragment != "" {
				q, _ = url.ParseQuery(loc.Fragment)
			}
			if !strings.HasPrefix(loc.String(), tt.params.Get("redirect_uri")) || q.Get("error") != tt.wantError ||
				q.Get("state") != "xyz" || q.Get("iss") != e.issuer {
				t.Fatalf("redirect %s, want error %s with state and iss", loc, tt.wantError)
			}
		})
	}
	if e.hits() != 0 {
		t.Errorf("login UI reached %d times", e.hits())
	}
}

func TestNativeClientLoopbackPortMayVary(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.rp("native", "http://127.0.0.1:61234/native")
	tok, idt := r.login("n")
	if tok.AccessToken == "" || idt.Subject != e.user.ID {
		t.Fatal("native flow on another port failed")
	}
}

func TestEndSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.rp("web", webRedirect)
	b := e.browser()
	code, verifier := r.code(b, "n")
	tok, err := r.exchange(code, verifier)
	if err != nil {
		t.Fatal(err)
	}
	hint := tok.Extra("id_token").(string)
	logout := func(params url.Values) *url.URL {
		t.Helper()
		nb := *b
		nb.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err := nb.Get(e.issuer + "/end_session?" + params.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("end_session status %d", resp.StatusCode)
		}
		loc, _ := url.Parse(resp.Header.Get("Location"))
		return loc
	}

	// An unregistered post_logout_redirect_uri goes to our page, but the session ends.
	loc := logout(url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {"https://evil.example/"}, "state": {"s"}})
	if loc.String() != "/logged-out" {
		t.Errorf("unregistered redirect: %s", loc)
	}
	// No client identified: our page.
	loc = logout(url.Values{"post_logout_redirect_uri": {logoutRedirect}})
	if loc.String() != "/logged-out" {
		t.Errorf("no client: %s", loc)
	}
	// Hint and client_id disagree: our page.
	loc = logout(url.Values{"id_token_hint": {hint}, "client_id": {"other"}, "post_logout_redirect_uri": {logoutRedirect}})
	if loc.String() != "/logged-out" {
		t.Errorf("mismatched client_id: %s", loc)
	}

	// Log in again, then a proper logout.
	code, verifier = r.code(b, "n2")
	if _, err := r.exchange(code, verifier); err != nil {
		t.Fatal(err)
	}
	loc = logout(url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {logoutRedirect}, "state": {"bye"}})
	if !strings.HasPrefix(loc.String(), logoutRedirect) || loc.Query().Get("state") != "bye" {
		t.Fatalf("registered redirect: %s", loc)
	}
	// The session is gone: prompt=none now needs a login.
	_, challenge := pkce()
	_, loc = e.authorize(b, url.Values{"client_id": {"web"}, "redirect_uri": {webRedirect}, "response_type": {"code"},
		"scope": {"openid"}, "prompt": {"none"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}})
	if loc == nil || loc.Query().Get("error") != "login_required" {
		t.Fatalf("after logout: %v", loc)
	}
}
