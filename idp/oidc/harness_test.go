package oidc_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/portcullis-id/portcullis/idp/audit"
	"github.com/portcullis-id/portcullis/idp/keys"
	poidc "github.com/portcullis-id/portcullis/idp/oidc"
	"github.com/portcullis-id/portcullis/idp/regulate"
	"github.com/portcullis-id/portcullis/idp/seal"
	"github.com/portcullis-id/portcullis/store"
	"github.com/portcullis-id/portcullis/store/bolt"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// users adapts the store to poidc.Users.
type users struct{ st store.Store }

func (u users) GetUser(ctx context.Context, id string) (store.User, error) {
	return u.st.GetUser(ctx, id)
}
func (u users) GroupNames(ctx context.Context, id string) ([]string, error) {
	gs, err := u.st.GroupsOfUser(ctx, id)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(gs))
	for i, g := range gs {
		names[i] = g.DisplayName
	}
	return names, nil
}

// RoleNames stands in for the mapping rules: the user's built-in roles.
func (u users) RoleNames(ctx context.Context, id string, _ bool) ([]string, error) {
	usr, err := u.st.GetUser(ctx, id)
	if err != nil {
		return nil, err
	}
	return usr.Roles, nil
}

// auditLog records events for assertions.
type auditLog struct {
	mu     sync.Mutex
	events []audit.Event
}

func (a *auditLog) Record(_ context.Context, e audit.Event) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.events = append(a.events, e)
}

func (a *auditLog) has(action string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, e := range a.events {
		if e.Action == action {
			return true
		}
	}
	return false
}

const (
	webRedirect    = "http://127.0.0.1/cb"
	spaRedirect    = "http://127.0.0.1/spa-cb"
	nativeRedirect = "http://127.0.0.1:5000/native"
	logoutRedirect = "https://rp.example/logged-out"
	sessionCookie  = "test_sid"
)

type env struct {
	t      testing.TB
	ctx    context.Context
	p      *poidc.Provider
	srv    *httptest.Server
	st     *bolt.Store
	keys   *keys.Manager
	clock  *clock
	audit  *auditLog
	issuer string
	user   store.User
	// secrets by client id: the plaintext of each client's first secret
	secrets map[string][]string
	// loginHits counts visits to the fake login UI.
	mu        sync.Mutex
	loginHits int
	tokens    map[string]int // successful token responses by grant type
}

// envOpts adjust the environment before the provider is built.
type envOpts struct {
	alg  string
	path string // issuer path, e.g. "/idp"
	cfg  func(*poidc.Config)
}

// newEnv starts a provider on 127.0.0.1 with a bolt store and ES256 keys.
func newEnv(t testing.TB) *env { return newEnvWith(t, envOpts{}) }

func newEnvWith(t testing.TB, o envOpts) *env {
	t.Helper()
	ctx := context.Background()
	if o.alg == "" {
		o.alg = "ES256"
	}
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	st, err := bolt.Open(ctx, filepath.Join(t.TempDir(), "p.db"), bolt.Options{NoSync: true, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	sealKey := make([]byte, 32)
	_, _ = rand.Read(sealKey)
	sealer, err := seal.New(sealKey)
	if err != nil {
		t.Fatal(err)
	}
	km, err := keys.New(ctx, st, sealer, keys.Options{Algorithm: o.alg, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, ctx: ctx, st: st, keys: km, clock: clk, audit: &auditLog{}, secrets: map[string][]string{}, tokens: map[string]int{}}
	e.srv = httptest.NewUnstartedServer(nil)
	e.issuer = "http://" + e.srv.Listener.Addr().String() + o.path

	var key [32]byte
	_, _ = rand.Read(key[:])
	cfg := poidc.Config{
		Issuer:                  e.issuer,
		CryptoKey:               key,
		AccessTokenLifetime:     10 * time.Minute,
		IDTokenLifetime:         10 * time.Minute,
		RefreshTokenLifetime:    24 * time.Hour,
		RefreshAbsoluteLifetime: 7 * 24 * time.Hour,
		AuthCodeLifetime:        time.Minute,
		AuthRequestLifetime:     30 * time.Minute,
		LoginPath:               "/login",
		LoggedOutPath:           "/logged-out",
		ClientLimits:            regulate.Limits{MaxFailures: 5, Window: time.Minute, Lockout: time.Minute},
	}
	if o.cfg != nil {
		o.cfg(&cfg)
	}
	e.p, err = poidc.New(ctx, cfg, poidc.Deps{
		Store: st, Keys: km, Users: users{st}, Regulator: regulate.New(clk.Now), Audit: e.audit,
		Now: clk.Now, Log: slog.New(slog.DiscardHandler),
		SessionFromRequest: e.sessionFromRequest,
		OnToken: func(g string) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.tokens[g]++
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc(o.path+"/login", e.fakeLogin)
	mux.Handle("/", e.p.Handler())
	e.srv.Config.Handler = mux
	e.srv.Start()
	t.Cleanup(e.srv.Close)

	e.user, err = st.CreateUser(ctx, store.User{UserName: "alice", DisplayName: "Alice Example",
		Emails: []string{"alice@example.com"}, Active: true, Roles: []string{"auditor"}})
	if err != nil {
		t.Fatal(err)
	}
	g, err := st.CreateGroup(ctx, store.Group{DisplayName: "admins"})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AddMember(ctx, g.ID, e.user.ID); err != nil {
		t.Fatal(err)
	}
	userScopes := []string{"profile", "email", "offline_access", "groups", "roles"}
	e.addClient(store.Client{ID: "web", RedirectURIs: []string{webRedirect},
		PostLogoutRedirectURIs: []string{logoutRedirect},
		GrantTypes:             []string{"authorization_code", "refresh_token"}, Scopes: userScopes}, 1)
	e.addClient(store.Client{ID: "other", RedirectURIs: []string{"https://other.example/cb"},
		GrantTypes: []string{"authorization_code", "refresh_token", "client_credentials"}, Scopes: userScopes}, 1)
	e.addClient(store.Client{ID: "spa", Public: true, RedirectURIs: []string{spaRedirect},
		GrantTypes: []string{"authorization_code", "refresh_token"}, Scopes: userScopes}, 0)
	e.addClient(store.Client{ID: "native", Public: true, Native: true, RedirectURIs: []string{nativeRedirect},
		GrantTypes: []string{"authorization_code"}, Scopes: userScopes}, 0)
	e.addClient(store.Client{ID: "opaque", RedirectURIs: []string{"http://127.0.0.1/opaque-cb"},
		GrantTypes: []string{"authorization_code"}, Scopes: userScopes, AccessTokenFormat: store.AccessTokenOpaque}, 1)
	e.addClient(store.Client{ID: "svc", GrantTypes: []string{"client_credentials"},
		Scopes: []string{"api.read", "api.write"}}, 2)
	return e
}

// addClient validates and stores c with n fresh secrets.
func (e *env) addClient(c store.Client, n int) {
	e.t.Helper()
	for range n {
		plain, s, err := poidc.NewClientSecret(rand.Reader, e.clock.Now(), time.Time{})
		if err != nil {
			e.t.Fatal(err)
		}
		c.Secrets = append(c.Secrets, s)
		e.secrets[c.ID] = append(e.secrets[c.ID], plain)
	}
	if err := poidc.ValidateClient(c); err != nil {
		e.t.Fatalf("client %s: %v", c.ID, err)
	}
	if _, err := e.st.CreateClient(e.ctx, c); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) sessionFromRequest(r *http.Request) (store.Session, bool) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		return store.Session{}, false
	}
	s, err := e.st.GetSession(r.Context(), ck.Value)
	if err != nil || s.Revoked || !e.clock.Now().Before(s.ExpiresAt) {
		return store.Session{}, false
	}
	return s, true
}

// fakeLogin signs in e.user without any UI: a new session, a cookie, and the
// provider's callback.
func (e *env) fakeLogin(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	e.loginHits++
	e.mu.Unlock()
	id := r.URL.Query().Get("authRequestID")
	if _, _, err := e.p.AuthRequest(r.Context(), id); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	now := e.clock.Now()
	sid := randString(16)
	s := store.Session{ID: sid, UserID: e.user.ID, AuthTime: now, AMR: []string{"pwd", "otp", "mfa"},
		ACR: "urn:portcullis:acr:mfa", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := e.st.CreateSession(r.Context(), s); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: sid, Path: "/"})
	next, err := e.p.CompleteAuthRequest(r.Context(), r, id, s)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	http.Redirect(w, r, next, http.StatusFound)
}

func (e *env) tokenCount(grant string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.tokens[grant]
}

func (e *env) hits() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.loginHits
}

func randString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// browser is a cookie-keeping client that stops at the first redirect leaving for a
// relying party (anything not on the test server).
func (e *env) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if !strings.HasPrefix(req.URL.String(), e.issuer) {
			return http.ErrUseLastResponse
		}
		return nil
	}}
}

// authorize drives a browser through /authorize and returns where it was finally sent.
func (e *env) authorize(b *http.Client, params url.Values) (*http.Response, *url.URL) {
	e.t.Helper()
	resp, err := b.Get(e.issuer + "/authorize?" + params.Encode())
	if err != nil {
		e.t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		return resp, nil
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, loc
}

func pkce() (verifier, challenge string) {
	verifier = randString(32)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// rp is a relying party built from go-oidc and x/oauth2.
type rp struct {
	e        *env
	cfg      oauth2.Config
	provider *gooidc.Provider
	verifier *gooidc.IDTokenVerifier
	ctx      context.Context
}

func (e *env) rp(clientID, redirect string, scopes ...string) *rp {
	e.t.Helper()
	ctx := context.WithValue(e.ctx, oauth2.HTTPClient, e.srv.Client())
	prov, err := gooidc.NewProvider(ctx, e.issuer)
	if err != nil {
		e.t.Fatal(err)
	}
	secret := ""
	if s := e.secrets[clientID]; len(s) > 0 {
		secret = s[0]
	}
	ep := prov.Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInHeader
	if secret == "" {
		ep.AuthStyle = oauth2.AuthStyleInParams
	}
	return &rp{
		e: e, ctx: ctx, provider: prov,
		cfg: oauth2.Config{ClientID: clientID, ClientSecret: secret, RedirectURL: redirect,
			Endpoint: ep, Scopes: append([]string{gooidc.ScopeOpenID}, scopes...)},
		verifier: prov.Verifier(&gooidc.Config{ClientID: clientID, Now: e.clock.Now}),
	}
}

// code runs the browser part of the code flow and returns the code and PKCE verifier.
func (r *rp) code(b *http.Client, nonce string) (code, verifier string) {
	r.e.t.Helper()
	verifier, challenge := pkce()
	state := randString(8)
	authURL := r.cfg.AuthCodeURL(state, gooidc.Nonce(nonce),
		oauth2.SetAuthURLParam("code_challenge", challenge),
		oauth2.SetAuthURLParam("code_challenge_method", "S256"))
	resp, err := b.Get(authURL)
	if err != nil {
		r.e.t.Fatal(err)
	}
	_ = resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil {
		r.e.t.Fatalf("authorize: status %d, location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	q := loc.Query()
	if q.Get("state") != state {
		r.e.t.Fatalf("state %q, want %q (location %s)", q.Get("state"), state, loc)
	}
	if q.Get("iss") != r.e.issuer {
		r.e.t.Fatalf("iss %q, want %q (RFC 9207)", q.Get("iss"), r.e.issuer)
	}
	if q.Get("code") == "" {
		r.e.t.Fatalf("no code in %s", loc)
	}
	return q.Get("code"), verifier
}

func (r *rp) exchange(code, verifier string) (*oauth2.Token, error) {
	return r.cfg.Exchange(r.ctx, code, oauth2.VerifierOption(verifier))
}

// login runs the whole flow and returns the tokens and the verified ID token.
func (r *rp) login(nonce string) (*oauth2.Token, *gooidc.IDToken) {
	r.e.t.Helper()
	code, verifier := r.code(r.e.browser(), nonce)
	tok, err := r.exchange(code, verifier)
	if err != nil {
		r.e.t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := r.verifier.Verify(r.ctx, raw)
	if err != nil {
		r.e.t.Fatalf("verify id_token: %v", err)
	}
	return tok, idt
}

func (r *rp) refresh(rt string) (*oauth2.Token, error) {
	return r.cfg.TokenSource(r.ctx, &oauth2.Token{RefreshToken: rt, Expiry: time.Unix(1, 0)}).Token()
}

// post sends a form to path, with Basic auth when user != "".
func (e *env) post(path string, form url.Values, user, pass string) (*http.Response, map[string]any) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.issuer+path, strings.NewReader(form.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
	}
	return e.do(req)
}

func (e *env) do(req *http.Request) (*http.Response, map[string]any) {
	e.t.Helper()
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	return resp, m
}

// introspect asks as client id whether token is active.
func (e *env) introspect(token, id string) (bool, map[string]any) {
	e.t.Helper()
	resp, m := e.post("/oauth/introspect", url.Values{"token": {token}}, id, e.secrets[id][0])
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("introspect: status %d", resp.StatusCode)
	}
	active, _ := m["active"].(bool)
	return active, m
}

func (e *env) userinfo(token string) (int, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.issuer+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, m := e.do(req)
	return resp.StatusCode, m
}
