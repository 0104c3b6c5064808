package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/portcullis-id/portcullis/configs"
)

// testServer is the real server, started on 127.0.0.1:0 with a fresh data directory.
type testServer struct {
	issuer string
	dir    string
	token  string // bootstrap admin token
	cancel context.CancelFunc
	done   chan error
}

func startServer(t *testing.T, extraYAML string) *testServer {
	t.Helper()
	return startServerAt(t, "127.0.0.1", extraYAML)
}

// startServerAt names the issuer host: WebAuthn needs a domain name, so browser tests
// use "localhost" (the server still listens on 127.0.0.1 only).
func startServerAt(t *testing.T, host, extraYAML string) *testServer {
	t.Helper()
	return startServerClock(t, host, extraYAML, nil)
}

// startServerClock runs the server on the given clock (nil: the real one).
func startServerClock(t *testing.T, host, extraYAML string, now func() time.Time) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	issuer := fmt.Sprintf("http://%s:%d", host, ln.Addr().(*net.TCPAddr).Port)
	yml := fmt.Sprintf("listen: %q\nissuer: %q\ndata_dir: %q\nsigning:\n  algorithm: ES256\nsecurity:\n  login_min_duration: 0s\n  user_max_failures: 3\n%s",
		ln.Addr().String(), issuer, filepath.Join(dir, "data"), extraYAML)
	cfg, err := configs.Parse([]byte(yml), dir)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &testServer{issuer: issuer, dir: dir, cancel: cancel, done: make(chan error, 1)}
	ready := make(chan struct{})
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	go func() {
		s.done <- run(ctx, cfg, ln, runOptions{Log: log, Now: now, Ready: func() { close(ready) }})
	}()
	select {
	case <-ready:
	case err := <-s.done:
		t.Fatalf("server stopped during start-up: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("server did not start")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-s.done:
			if err != nil {
				t.Errorf("server exit: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("server did not shut down")
		}
	})
	tok, err := os.ReadFile(cfg.Admin.BootstrapTokenFile)
	if err != nil {
		t.Fatalf("bootstrap token: %v", err)
	}
	s.token = strings.TrimSpace(string(tok))
	return s
}

// admin calls the admin API with the bootstrap token and decodes the JSON answer.
func (s *testServer) admin(t *testing.T, method, path string, body any, want int) map[string]any {
	t.Helper()
	return s.call(t, method, "/admin/v1"+path, body, want)
}

// call is admin for any path of the server, with the bootstrap token.
func (s *testServer) call(t *testing.T, method, path string, body any, want int) map[string]any {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.issuer+path, rd)
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, b)
	}
	out := map[string]any{}
	if len(bytes.TrimSpace(b)) > 0 && b[0] == '{' {
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
	return out
}

const alicePassword = "correct horse battery staple"

// fixture creates alice (in group engineering) and a confidential web client.
func (s *testServer) fixture(t *testing.T, redirect string) (clientID, secret string) {
	t.Helper()
	u := s.admin(t, "POST", "/users", map[string]any{
		"user_name": "alice", "display_name": "Alice Example", "emails": []string{"alice@example.com"},
		"active": true, "password": alicePassword,
	}, http.StatusCreated)
	g := s.admin(t, "POST", "/groups", map[string]any{"display_name": "engineering"}, http.StatusCreated)
	s.admin(t, "PUT", fmt.Sprintf("/groups/%s/members/%s", g["id"], u["id"]), nil, http.StatusNoContent)
	c := s.admin(t, "POST", "/clients", map[string]any{
		"id": "webapp", "name": "Web App", "redirect_uris": []string{redirect},
		"post_logout_redirect_uris": []string{redirect + "/bye"},
		"grant_types":               []string{"authorization_code", "refresh_token", "client_credentials"},
		"scopes":                    []string{"openid", "profile", "email", "groups", "roles", "offline_access"},
	}, http.StatusCreated)
	sec, _ := c["client_secret"].(string)
	if sec == "" {
		t.Fatalf("client create returned no secret: %v", c)
	}
	return "webapp", sec
}

// browser is a cookie-jar HTTP client that stops at redirects to the RP.
type browser struct {
	c        *http.Client
	redirect string
}

func newBrowser(t *testing.T, redirect string) *browser {
	jar, _ := cookiejar.New(nil)
	b := &browser{redirect: redirect}
	b.c = &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), redirect) {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	return b
}

var (
	csrfRe  = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
	arIDRe  = regexp.MustCompile(`name="authRequestID" value="([^"]+)"`)
	ticketR = regexp.MustCompile(`name="ticket" value="([^"]+)"`)
)

// get follows redirects until the login page or the RP's redirect.
func (b *browser) get(t *testing.T, u string) (*http.Response, string) {
	t.Helper()
	resp, err := b.c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func (b *browser) post(t *testing.T, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	resp, err := b.c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func match(t *testing.T, re *regexp.Regexp, page string) string {
	t.Helper()
	m := re.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("page lacks %s:\n%s", re, page)
	}
	return m[1]
}

// login posts the real form and returns the RP callback URL.
func (b *browser) login(t *testing.T, issuer, authURL, user, password string) (*url.URL, *http.Response, string) {
	t.Helper()
	resp, page := b.get(t, authURL)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login page: %d %s", resp.StatusCode, page)
	}
	form := url.Values{
		"csrf_token":    {match(t, csrfRe, page)},
		"authRequestID": {match(t, arIDRe, page)},
		"username":      {user},
		"password":      {password},
	}
	resp, page = b.post(t, issuer+"/login", form)
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		return nil, resp, page
	}
	loc, err := resp.Location()
	if err != nil {
		t.Fatal(err)
	}
	return loc, resp, page
}

func pkce() (verifier, challenge string) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	verifier = base64.RawURLEncoding.EncodeToString(b[:])
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

func randState() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

type rp struct {
	cfg      oauth2.Config
	verifier *gooidc.IDTokenVerifier
	provider *gooidc.Provider
}

func newRP(t *testing.T, ctx context.Context, issuer, id, secret, redirect string) *rp {
	t.Helper()
	p, err := gooidc.NewProvider(ctx, issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	return &rp{
		provider: p,
		verifier: p.Verifier(&gooidc.Config{ClientID: id}),
		cfg: oauth2.Config{
			ClientID: id, ClientSecret: secret, Endpoint: p.Endpoint(), RedirectURL: redirect,
			Scopes: []string{gooidc.ScopeOpenID, "profile", "email", "groups", gooidc.ScopeOfflineAccess},
		},
	}
}

func TestEndToEndBrowserSignInWithRelyingParty(t *testing.T) {
	s := startServer(t, "")
	const redirect = "http://127.0.0.1:9/callback"
	id, secret := s.fixture(t, redirect)
	// A role granted to the engineering group by a mapping rule: the roles claim.
	s.admin(t, "POST", "/roles", map[string]any{
		"name":         "developer",
		"trust_policy": json.RawMessage(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Portcullis":["arn:portcullis:iam::000000000000:root"]},"Action":"sts:AssumeRole"}]}`),
	}, http.StatusCreated)
	s.admin(t, "POST", "/role-mappings", map[string]any{
		"name": "engineers-are-developers", "source": "local", "match": map[string]string{"group": "engineering"}, "roles": []string{"developer"},
	}, http.StatusCreated)
	// A rule that needs a second factor grants nothing to this password-only sign-in.
	s.mfaOnlyRole(t)
	ctx := context.Background()
	r := newRP(t, ctx, s.issuer, id, secret, redirect)
	r.cfg.Scopes = append(r.cfg.Scopes, "roles")
	var disc struct {
		ACR []string `json:"acr_values_supported"`
	}
	if err := r.provider.Claims(&disc); err != nil || len(disc.ACR) != 2 {
		t.Fatalf("acr_values_supported: %v %v", disc.ACR, err)
	}

	verifier, challenge := pkce()
	state, nonce := randState(), randState()
	authURL := r.cfg.AuthCodeURL(state, gooidc.Nonce(nonce),
		oauth2.SetAuthURLParam("code_challenge", challenge), oauth2.SetAuthURLParam("code_challenge_method", "S256"))
	b := newBrowser(t, redirect)

	// Wrong password: the generic error, on the login page.
	loc, resp, page := b.login(t, s.issuer, authURL, "alice", "wrong password entirely")
	if loc != nil || resp.StatusCode != http.StatusUnauthorized || !strings.Contains(page, "incorrect") {
		t.Fatalf("wrong password: status %d loc %v", resp.StatusCode, loc)
	}
	// Unknown user gets the very same message.
	_, _, page2 := b.login(t, s.issuer, authURL, "mallory", "wrong password entirely")
	if extractError(page) != extractError(page2) {
		t.Fatalf("unknown user and wrong password differ: %q vs %q", extractError(page), extractError(page2))
	}

	loc, resp, page = b.login(t, s.issuer, authURL, "alice", alicePassword)
	if loc == nil {
		t.Fatalf("login failed: %d %s", resp.StatusCode, page)
	}
	q := loc.Query()
	if q.Get("state") != state {
		t.Fatalf("state not echoed: %v", loc)
	}
	code := q.Get("code")
	tok, err := r.cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := r.verifier.Verify(ctx, raw)
	if err != nil {
		t.Fatalf("id_token: %v", err)
	}
	if idt.Nonce != nonce {
		t.Fatalf("nonce %q, want %q", idt.Nonce, nonce)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Fatalf("at_hash: %v", err)
	}
	var claims struct {
		AuthTime int64    `json:"auth_time"`
		AMR      []string `json:"amr"`
		Groups   []string `json:"groups"`
		Roles    []string `json:"roles"`
	}
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if len(claims.Roles) != 1 || claims.Roles[0] != "developer" {
		t.Fatalf("roles claim: %v", claims.Roles)
	}
	if claims.AuthTime == 0 || len(claims.AMR) == 0 || claims.AMR[0] != "pwd" {
		t.Fatalf("auth_time/amr: %+v", claims)
	}
	if len(claims.Groups) != 1 || claims.Groups[0] != "engineering" {
		t.Fatalf("groups claim: %v", claims.Groups)
	}

	// userinfo with the access token.
	ui, err := r.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	if ui.Subject != idt.Subject || ui.Email != "alice@example.com" {
		t.Fatalf("userinfo: %+v", ui)
	}

	resp, err = http.Get(s.issuer + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`portcullis_logins_total{outcome="failure"} 2`, `portcullis_logins_total{outcome="success"} 1`,
		`portcullis_tokens_issued_total{grant_type="authorization_code"} 1`} {
		if !strings.Contains(string(m), want) {
			t.Errorf("metrics lack %s", want)
		}
	}

	// Refresh rotates; the old refresh token then revokes the family.
	old := tok.RefreshToken
	if old == "" {
		t.Fatal("no refresh token")
	}
	ts := r.cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: old, Expiry: time.Now().Add(-time.Hour)})
	tok2, err := ts.Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if tok2.RefreshToken == "" || tok2.RefreshToken == old {
		t.Fatal("refresh token not rotated")
	}
	if active(t, s.issuer, id, secret, tok2.AccessToken) != true {
		t.Fatal("fresh access token inactive")
	}
	reuse := r.cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: old, Expiry: time.Now().Add(-time.Hour)})
	if _, err := reuse.Token(); err == nil {
		t.Fatal("reused refresh token accepted")
	}
	next := r.cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok2.RefreshToken, Expiry: time.Now().Add(-time.Hour)})
	if _, err := next.Token(); err == nil {
		t.Fatal("family survived refresh-token reuse")
	}
	if active(t, s.issuer, id, secret, tok2.AccessToken) {
		t.Fatal("access token of a revoked family still active")
	}

	// SSO: a second authorization reuses the browser session without a form.
	verifier, challenge = pkce()
	authURL = r.cfg.AuthCodeURL("s2", oauth2.SetAuthURLParam("code_challenge", challenge), oauth2.SetAuthURLParam("code_challenge_method", "S256"))
	resp, _ = b.get(t, authURL)
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("SSO: expected redirect to RP, got %d", resp.StatusCode)
	}
	loc, _ = resp.Location()
	tok3, err := r.cfg.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("SSO exchange: %v", err)
	}

	// Revocation (RFC 7009) makes the token inactive.
	revoke(t, s.issuer, id, secret, tok3.AccessToken)
	if active(t, s.issuer, id, secret, tok3.AccessToken) {
		t.Fatal("revoked access token still active")
	}

	// A code is single-use; replaying it also revokes what it issued.
	verifier, challenge = pkce()
	authURL = r.cfg.AuthCodeURL("s2b", oauth2.SetAuthURLParam("code_challenge", challenge), oauth2.SetAuthURLParam("code_challenge_method", "S256"))
	resp, _ = b.get(t, authURL)
	loc, _ = resp.Location()
	code4 := loc.Query().Get("code")
	tok4, err := r.cfg.Exchange(ctx, code4, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if !active(t, s.issuer, id, secret, tok4.AccessToken) {
		t.Fatal("fresh access token inactive")
	}
	if _, err := r.cfg.Exchange(ctx, code4, oauth2.VerifierOption(verifier)); err == nil {
		t.Fatal("reused code accepted")
	}
	if active(t, s.issuer, id, secret, tok4.AccessToken) {
		t.Fatal("access token from a replayed code still active")
	}

	// prompt=login forces the form again despite the session.
	authURL = r.cfg.AuthCodeURL("s3", oauth2.SetAuthURLParam("prompt", "login"), oauth2.SetAuthURLParam("code_challenge", challenge), oauth2.SetAuthURLParam("code_challenge_method", "S256"))
	resp, page = b.get(t, authURL)
	if resp.StatusCode != http.StatusOK || !csrfRe.MatchString(page) {
		t.Fatalf("prompt=login did not show the form: %d", resp.StatusCode)
	}

	// RP-initiated logout with a registered post_logout_redirect_uri.
	tok3raw, _ := tok3.Extra("id_token").(string)
	lo := s.issuer + "/end_session?" + url.Values{
		"id_token_hint": {tok3raw}, "post_logout_redirect_uri": {redirect + "/bye"}, "state": {"bye"},
	}.Encode()
	resp, _ = b.get(t, lo)
	loc, _ = resp.Location()
	if loc == nil || !strings.HasPrefix(loc.String(), redirect+"/bye") || loc.Query().Get("state") != "bye" {
		t.Fatalf("logout redirect: %d %v", resp.StatusCode, loc)
	}
	// The session is gone: the next authorization shows the form.
	authURL = r.cfg.AuthCodeURL("s4", oauth2.SetAuthURLParam("code_challenge", challenge), oauth2.SetAuthURLParam("code_challenge_method", "S256"))
	resp, page = b.get(t, authURL)
	if resp.StatusCode != http.StatusOK || !csrfRe.MatchString(page) {
		t.Fatalf("after logout: expected the login form, got %d", resp.StatusCode)
	}
}

func extractError(page string) string {
	m := regexp.MustCompile(`class="error"[^>]*>([^<]+)<`).FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return m[1]
}

func active(t *testing.T, issuer, id, secret, token string) bool {
	t.Helper()
	req, _ := http.NewRequest("POST", issuer+"/oauth/introspect", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Active bool `json:"active"`
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("introspect: %d %s", resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("introspect: %s", b)
	}
	return out.Active
}

func revoke(t *testing.T, issuer, id, secret, token string) {
	t.Helper()
	req, _ := http.NewRequest("POST", issuer+"/revoke", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
}

func TestEndToEndClientCredentials(t *testing.T) {
	s := startServer(t, "")
	id, secret := s.fixture(t, "http://127.0.0.1:9/cb")
	ctx := context.Background()
	cc := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: s.issuer + "/oauth/token"}
	tok, err := cc.Token(ctx)
	if err != nil {
		t.Fatalf("client_credentials: %v", err)
	}
	if !active(t, s.issuer, id, secret, tok.AccessToken) {
		t.Fatal("client_credentials token inactive")
	}
	// The access token is an RFC 9068 JWT.
	hdr, _, _ := strings.Cut(tok.AccessToken, ".")
	h, _ := base64.RawURLEncoding.DecodeString(hdr)
	if !strings.Contains(string(h), `"typ":"at+jwt"`) {
		t.Fatalf("access token header %s", h)
	}
	bad := clientcredentials.Config{ClientID: id, ClientSecret: secret + "x", TokenURL: s.issuer + "/oauth/token"}
	if _, err := bad.Token(ctx); err == nil {
		t.Fatal("wrong client secret accepted")
	}
	resp, err := http.Get(s.issuer + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`portcullis_tokens_issued_total{grant_type="client_credentials"} 1`,
		`portcullis_http_requests_total{code="200",method="POST",route="/oauth/token"} 1`,
		`portcullis_http_request_duration_seconds_bucket{route="/oauth/token"`,
	} {
		if !strings.Contains(string(m), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestEndToEndNegatives(t *testing.T) {
	s := startServer(t, "")
	const redirect = "http://127.0.0.1:9/callback"
	id, secret := s.fixture(t, redirect)
	ctx := context.Background()
	r := newRP(t, ctx, s.issuer, id, secret, redirect)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	t.Run("UnregisteredRedirectURIIsNotFollowed", func(t *testing.T) {
		c := r.cfg
		c.RedirectURL = "http://127.0.0.1:9/evil"
		_, ch := pkce()
		resp, err := noRedirect.Get(c.AuthCodeURL("x", oauth2.SetAuthURLParam("code_challenge", ch), oauth2.SetAuthURLParam("code_challenge_method", "S256")))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); strings.Contains(loc, "evil") {
			t.Fatalf("redirected to an unregistered URI: %s", loc)
		}
	})
	t.Run("PlainPKCERefused", func(t *testing.T) {
		resp, err := noRedirect.Get(r.cfg.AuthCodeURL("x", oauth2.SetAuthURLParam("code_challenge", "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopq"), oauth2.SetAuthURLParam("code_challenge_method", "plain")))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, _ := resp.Location()
		if loc == nil || loc.Query().Get("error") != "invalid_request" {
			t.Fatalf("plain PKCE: %d %v", resp.StatusCode, loc)
		}
	})
	t.Run("MissingCSRFTokenRefused", func(t *testing.T) {
		b := newBrowser(t, redirect)
		_, ch := pkce()
		_, page := b.get(t, r.cfg.AuthCodeURL("x", oauth2.SetAuthURLParam("code_challenge", ch), oauth2.SetAuthURLParam("code_challenge_method", "S256")))
		resp, _ := b.post(t, s.issuer+"/login", url.Values{
			"authRequestID": {match(t, arIDRe, page)}, "username": {"alice"}, "password": {alicePassword},
		})
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("missing CSRF token: status %d", resp.StatusCode)
		}
	})
	t.Run("TamperedIDTokenRefusedByRP", func(t *testing.T) {
		b := newBrowser(t, redirect)
		v, ch := pkce()
		loc, _, _ := b.login(t, s.issuer, r.cfg.AuthCodeURL("x", oauth2.SetAuthURLParam("code_challenge", ch), oauth2.SetAuthURLParam("code_challenge_method", "S256")), "alice", alicePassword)
		if loc == nil {
			t.Fatal("login failed")
		}
		tok, err := r.cfg.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(v))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := tok.Extra("id_token").(string)
		parts := strings.Split(raw, ".")
		payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
		payload = bytes.Replace(payload, []byte(`"sub":"`), []byte(`"sub":"x`), 1)
		parts[1] = base64.RawURLEncoding.EncodeToString(payload)
		if _, err := r.verifier.Verify(ctx, strings.Join(parts, ".")); err == nil {
			t.Fatal("tampered id_token verified")
		}
	})
	t.Run("LockoutAfterRepeatedFailures", func(t *testing.T) {
		s.admin(t, "POST", "/users", map[string]any{"user_name": "bob", "active": true, "password": "another long passphrase 42"}, http.StatusCreated)
		b := newBrowser(t, redirect)
		_, ch := pkce()
		au := r.cfg.AuthCodeURL("x", oauth2.SetAuthURLParam("code_challenge", ch), oauth2.SetAuthURLParam("code_challenge_method", "S256"))
		for range 3 {
			if loc, _, _ := b.login(t, s.issuer, au, "bob", "not the password at all"); loc != nil {
				t.Fatal("wrong password accepted")
			}
		}
		loc, resp, page := b.login(t, s.issuer, au, "bob", "another long passphrase 42")
		if loc != nil || resp.StatusCode != http.StatusUnauthorized || !strings.Contains(page, "incorrect") {
			t.Fatalf("locked account signed in: %d", resp.StatusCode)
		}
	})
	t.Run("TokenEndpointRefusesGET", func(t *testing.T) {
		resp, err := http.Get(s.issuer + "/oauth/token?grant_type=client_credentials&client_id=" + id + "&client_secret=" + url.QueryEscape(secret))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Fatalf("GET token endpoint: %d", resp.StatusCode)
		}
	})
	t.Run("AdminAPIRequiresToken", func(t *testing.T) {
		resp, err := http.Get(s.issuer + "/admin/v1/users")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("admin API without token: %d", resp.StatusCode)
		}
	})
}

func TestServeRefusesConfigWithUnknownKey(t *testing.T) {
	t.Parallel()
	_, err := configs.Parse([]byte("listen: 127.0.0.1:0\nlisten_adress: x\n"), t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "listen_adress") {
		t.Fatalf("unknown key: %v", err)
	}
}

// TestLoginCommandAsNativeClient runs the walkthrough's relying party: a public native
// client registered without a port signs in through a loopback redirect on a random port
// (RFC 8252 §7.3), verifies the id_token and calls userinfo.
func TestLoginCommandAsNativeClient(t *testing.T) {
	s := startServer(t, "")
	s.fixture(t, "http://127.0.0.1:9/cb")
	c := s.admin(t, "POST", "/clients", map[string]any{
		"id": "cli", "public": true, "native": true, "redirect_uris": []string{"http://127.0.0.1/callback"},
		"grant_types": []string{"authorization_code"}, "scopes": []string{"openid", "profile", "email", "groups"},
	}, http.StatusCreated)
	if c["client_secret"] != nil {
		t.Fatalf("public client got a secret: %v", c)
	}
	jar, _ := cookiejar.New(nil)
	browserClient := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := runLogin(ctx, &out, s.issuer, "cli", []string{"openid", "profile", "email", "groups"}, func(authURL string) {
		go func() {
			resp, err := browserClient.Get(authURL)
			if err != nil {
				t.Error(err)
				return
			}
			page, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			form := url.Values{
				"csrf_token": {match(t, csrfRe, string(page))}, "authRequestID": {match(t, arIDRe, string(page))},
				"username": {"alice"}, "password": {alicePassword},
			}
			// Following the redirects ends at the command's loopback listener.
			resp, err = browserClient.PostForm(s.issuer+"/login", form)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
		}()
	})
	if err != nil {
		t.Fatalf("login command: %v\n%s", err, out.String())
	}
	for _, want := range []string{`"preferred_username": "alice"`, `"groups": [`, `"engineering"`, `"amr": [`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("login output lacks %s:\n%s", want, out.String())
		}
	}
}

// TestKeyRotationKeepsIssuedTokensVerifiable forces a rotation through the admin API:
// new tokens carry the new kid, and a token signed before the rotation still verifies
// against the published JWKS (the retired key stays until its tokens expire).
func TestKeyRotationKeepsIssuedTokensVerifiable(t *testing.T) {
	s := startServer(t, "")
	id, secret := s.fixture(t, "http://127.0.0.1:9/cb")
	ctx := context.Background()
	cc := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: s.issuer + "/oauth/token"}
	kidOf := func(tok string) string {
		hdr, _, _ := strings.Cut(tok, ".")
		raw, _ := base64.RawURLEncoding.DecodeString(hdr)
		var h struct {
			Kid string `json:"kid"`
		}
		_ = json.Unmarshal(raw, &h)
		return h.Kid
	}
	before, err := cc.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.admin(t, "POST", "/keys/rotate", nil, http.StatusOK)
	after, err := cc.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if kidOf(before.AccessToken) == "" || kidOf(before.AccessToken) == kidOf(after.AccessToken) {
		t.Fatalf("kid did not change: %q -> %q", kidOf(before.AccessToken), kidOf(after.AccessToken))
	}
	keys := gooidc.NewRemoteKeySet(ctx, s.issuer+"/keys")
	for name, tok := range map[string]string{"before": before.AccessToken, "after": after.AccessToken} {
		if _, err := keys.VerifySignature(ctx, tok); err != nil {
			t.Errorf("token signed %s the rotation does not verify: %v", name, err)
		}
		if !active(t, s.issuer, id, secret, tok) {
			t.Errorf("token signed %s the rotation is inactive", name)
		}
	}
}

// TestDecisionPointExplainsAllowAndDeny creates a managed policy and a role through the
// admin API, then asks the decision point and the simulator: each answer names the
// deciding statement, and a pdp-only token may check but not simulate.
func TestDecisionPointExplainsAllowAndDeny(t *testing.T) {
	s := startServer(t, "")
	s.admin(t, "POST", "/policies", map[string]any{
		"name": "reports-read",
		"document": json.RawMessage(`{"Version":"2012-10-17","Statement":[
			{"Sid":"ReadReports","Effect":"Allow","Action":"reports:Get*","Resource":"arn:portcullis:reports:::report/*"},
			{"Sid":"NeverSecret","Effect":"Deny","Action":"reports:*","Resource":"arn:portcullis:reports:::report/secret-*"}]}`),
	}, http.StatusCreated)
	s.admin(t, "POST", "/roles", map[string]any{
		"name":             "reader",
		"trust_policy":     json.RawMessage(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Portcullis":["arn:portcullis:iam::000000000000:root"]},"Action":"sts:AssumeRole"}]}`),
		"managed_policies": []string{"reports-read"},
	}, http.StatusCreated)

	check := func(token, resource string, want int) map[string]any {
		t.Helper()
		b, _ := json.Marshal(map[string]any{"role": "reader", "action": "reports:GetReport", "resource": resource})
		req, _ := http.NewRequest("POST", s.issuer+"/authz/v1/check", bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("check %s: %d %s", resource, resp.StatusCode, body)
		}
		out := map[string]any{}
		_ = json.Unmarshal(body, &out)
		return out
	}
	sid := func(m map[string]any) string {
		d, _ := m["deciding"].([]any)
		if len(d) == 0 {
			return ""
		}
		first, _ := d[0].(map[string]any)
		s, _ := first["sid"].(string)
		return s
	}
	if got := check(s.token, "arn:portcullis:reports:::report/q3", http.StatusOK); got["decision"] != "allow" || sid(got) != "ReadReports" {
		t.Fatalf("allow: %v", got)
	}
	if got := check(s.token, "arn:portcullis:reports:::report/secret-plan", http.StatusOK); got["decision"] != "deny" || got["explicit"] != true || sid(got) != "NeverSecret" {
		t.Fatalf("explicit deny: %v", got)
	}
	tok := s.admin(t, "POST", "/tokens", map[string]any{"name": "svc", "roles": []string{"pdp"}}, http.StatusCreated)
	pdpToken, _ := tok["token"].(string)
	if got := check(pdpToken, "arn:portcullis:reports:::report/q3", http.StatusOK); got["decision"] != "allow" {
		t.Fatalf("pdp token check: %v", got)
	}
	sim := s.admin(t, "POST", "/policy/simulate", map[string]any{
		"role": "reader", "actions": []string{"reports:GetReport", "reports:DeleteReport"}, "resources": []string{"arn:portcullis:reports:::report/q3"},
	}, http.StatusOK)
	results, _ := sim["results"].([]any)
	if len(results) != 2 {
		t.Fatalf("simulate: %v", sim)
	}
	del, _ := results[1].(map[string]any)
	if del["decision"] != "deny" || del["missing_layer"] != "identity" {
		t.Fatalf("implicit deny not explained: %v", del)
	}

	// A user principal: allowed through a role the mapping rules grant.
	s.fixture(t, "http://127.0.0.1:9/cb")
	s.admin(t, "POST", "/role-mappings", map[string]any{
		"name": "engineering-reads", "source": "local", "match": map[string]string{"group": "engineering"}, "roles": []string{"reader"},
	}, http.StatusCreated)
	got := s.call(t, "POST", "/authz/v1/check", map[string]any{"user": "alice", "action": "reports:GetReport", "resource": "arn:portcullis:reports:::report/q3"}, http.StatusOK)
	if got["decision"] != "allow" || !strings.HasSuffix(fmt.Sprint(got["role"]), ":role/reader") {
		t.Fatalf("user check: %v", got)
	}
	s.admin(t, "POST", "/users", map[string]any{"user_name": "bob", "active": true}, http.StatusCreated)
	if got := s.call(t, "POST", "/authz/v1/check", map[string]any{"user": "bob", "action": "reports:GetReport", "resource": "arn:portcullis:reports:::report/q3"}, http.StatusOK); got["decision"] != "deny" {
		t.Fatalf("user without roles: %v", got)
	}
	s.call(t, "POST", "/authz/v1/check", map[string]any{"user": "nobody", "action": "reports:GetReport", "resource": "x"}, http.StatusNotFound)

	// The CLI asks the same simulator.
	tf := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tf, []byte(s.token), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"policy", "simulate", "--server", s.issuer, "--token-file", tf, "--role", "reader",
		"--action", "reports:GetReport", "--resource", "arn:portcullis:reports:::report/secret-x"})
	if err := cmd.Execute(); err != nil {
		t.Fatalf("policy simulate --server: %v", err)
	}
	if !strings.Contains(out.String(), "Deny (explicit)") || !strings.Contains(out.String(), "NeverSecret") {
		t.Fatalf("policy simulate --server output:\n%s", out.String())
	}
}

// mfaOnlyRole creates the role "operator", granted to engineering only with MFA.
func (s *testServer) mfaOnlyRole(t *testing.T) {
	t.Helper()
	s.admin(t, "POST", "/roles", map[string]any{
		"name":         "operator",
		"trust_policy": json.RawMessage(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Portcullis":["arn:portcullis:iam::000000000000:root"]},"Action":"sts:AssumeRole"}]}`),
	}, http.StatusCreated)
	s.admin(t, "POST", "/role-mappings", map[string]any{
		"name": "operators-need-mfa", "source": "local", "match": map[string]string{"group": "engineering"},
		"require_mfa": true, "roles": []string{"operator"},
	}, http.StatusCreated)
}
