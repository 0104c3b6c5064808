package oidc

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/portcullis-id/portcullis/idp/audit"
	"github.com/portcullis-id/portcullis/idp/regulate"
	"github.com/portcullis-id/portcullis/store"
)

// Config is the provider's configuration.
type Config struct {
	Issuer string
	// ACRValues are the authentication context classes the sign-in can deliver, announced
	// as acr_values_supported.
	ACRValues []string
	// ExtraGrantTypes are served by other handlers at the token endpoint (RFC 8693 token
	// exchange by the STS) and announced in discovery.
	ExtraGrantTypes []string
	// CryptoKey keys auth codes and opaque access tokens (AES-256-GCM, with a separate
	// derived key for each). An all-zero key is refused.
	CryptoKey [32]byte

	AccessTokenLifetime  time.Duration
	IDTokenLifetime      time.Duration
	RefreshTokenLifetime time.Duration // idle: each rotation extends up to this
	// RefreshAbsoluteLifetime bounds a refresh family from the first login.
	RefreshAbsoluteLifetime time.Duration
	AuthCodeLifetime        time.Duration
	AuthRequestLifetime     time.Duration
	// RefreshReuseGrace lets a just-rotated refresh token be presented again for this
	// long (a lost response) without revoking the family. 0 disables it.
	RefreshReuseGrace time.Duration

	// LoginPath is where op sends the browser: issuer path + LoginPath +
	// "?authRequestID=" + id.
	LoginPath string
	// LoggedOutPath is where end_session goes when it may not redirect to the client
	// (issuer path + LoggedOutPath).
	LoggedOutPath string

	ClientLimits regulate.Limits
}

// Users is the directory view the provider needs.
type Users interface {
	GetUser(ctx context.Context, id string) (store.User, error)
	GroupNames(ctx context.Context, userID string) ([]string, error)
	// RoleNames are the roles granted to the user (the `roles` claim); mfa says whether
	// the sign-in behind the token proved a second factor, for rules that require one.
	RoleNames(ctx context.Context, userID string, mfa bool) ([]string, error)
}

// Deps are the provider's collaborators.
type Deps struct {
	Store     store.Store
	Keys      KeySource
	Users     Users
	Regulator *regulate.Regulator
	Audit     audit.Recorder
	Now       func() time.Time
	Log       *slog.Logger
	// OnToken is called once per successful token endpoint response. May be nil.
	OnToken func(grantType string)
	// SessionFromRequest returns the browser session of the request if it is valid.
	// prompt=none, the code callback and end_session use it. May be nil.
	SessionFromRequest func(r *http.Request) (store.Session, bool)
}

// Sentinel errors of the login UI calls.
var (
	// ErrAuthRequestDone: the request was already completed by another session.
	ErrAuthRequestDone = errors.New("authorization request already completed")
	// ErrSessionInvalid: the session is revoked, expired or its user is inactive.
	ErrSessionInvalid = errors.New("session not valid")
)

// Provider is the OpenID provider.
type Provider struct {
	cfg        Config
	st         store.Store
	keys       KeySource
	users      Users
	reg        *regulate.Regulator
	audit      audit.Recorder
	now        func() time.Time
	log        *slog.Logger
	onToken    func(string)
	sessionFn  func(*http.Request) (store.Session, bool)
	issuerPath string // path part of the issuer, "" for none
	rand       io.Reader

	crypto  *tokenCrypto
	storage *storage
	op      *op.Provider
	disc    *discovery
	origins *originCache
	handler http.Handler
}

// New validates the configuration and builds the provider.
func New(ctx context.Context, cfg Config, d Deps) (*Provider, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if d.Store == nil || d.Keys == nil || d.Users == nil || d.Regulator == nil {
		return nil, errors.New("oidc provider: Store, Keys, Users and Regulator are required")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Audit == nil {
		d.Audit = audit.Discard{}
	}
	iss, _ := url.Parse(cfg.Issuer)
	p := &Provider{
		cfg: cfg, st: d.Store, keys: d.Keys, users: d.Users, reg: d.Regulator,
		audit: d.Audit, now: d.Now, log: d.Log, onToken: d.OnToken,
		sessionFn: d.SessionFromRequest, rand: rand.Reader, issuerPath: strings.TrimSuffix(iss.Path, "/"),
	}
	var err error
	if p.crypto, err = newTokenCrypto(cfg.Issuer, cfg.CryptoKey, d.Keys, d.Now); err != nil {
		return nil, err
	}
	p.storage = &storage{p: p}
	p.origins = newOriginCache(d.Store, d.Now, d.Log)
	opts := []op.Option{
		op.WithCrypto(p.crypto),
		op.WithCORSOptions(p.origins.corsOptions()),
		op.WithAccessTokenVerifierOpts(op.WithSupportedAccessTokenSigningAlgorithms(verifierAlgorithms...)),
		op.WithIDTokenHintVerifierOpts(op.WithSupportedIDTokenHintSigningAlgorithms(verifierAlgorithms...)),
		op.WithHttpInterceptors(p.interceptors()...),
	}
	if iss.Scheme == "http" {
		// Only reached for loopback issuers: validate refuses plain http elsewhere.
		opts = append(opts, op.WithAllowInsecure())
	}
	p.op, err = op.NewProvider(&op.Config{
		CryptoKey:                cfg.CryptoKey,
		CryptoKeyId:              "code",
		DefaultLogoutRedirectURI: p.issuerPath + cfg.LoggedOutPath,
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		GrantTypeRefreshToken:    true,
		SupportedScopes:          supportedScopes,
		SupportedClaims:          supportedClaims,
	}, p.storage, op.StaticIssuer(cfg.Issuer), opts...)
	if err != nil {
		return nil, fmt.Errorf("oidc provider: %w", err)
	}
	if p.disc, err = newDiscovery(ctx, p); err != nil {
		return nil, err
	}
	p.handler = p.routes(true)
	return p, nil
}

// maxLifetime bounds every configurable token lifetime.
const maxLifetime = 366 * 24 * time.Hour

func (c Config) validate() error {
	var errs []error
	u, err := url.Parse(c.Issuer)
	switch {
	case err != nil || u.Scheme == "" || u.Host == "":
		errs = append(errs, &FieldError{"issuer", "must be an absolute URL"})
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		errs = append(errs, &FieldError{"issuer", "must not have a query, fragment or user info"})
	case u.Scheme == "http" && !isLoopbackHost(u.Hostname()):
		errs = append(errs, &FieldError{"issuer", "must be https (http only on a loopback host)"})
	case u.Scheme != "http" && u.Scheme != "https":
		errs = append(errs, &FieldError{"issuer", "must be https"})
	}
	if c.CryptoKey == ([32]byte{}) {
		errs = append(errs, &FieldError{"crypto_key", "must be 32 random bytes, not zero"})
	}
	for _, l := range []struct {
		path string
		d    time.Duration
	}{
		{"access_token_lifetime", c.AccessTokenLifetime},
		{"id_token_lifetime", c.IDTokenLifetime},
		{"refresh_token_lifetime", c.RefreshTokenLifetime},
		{"refresh_absolute_lifetime", c.RefreshAbsoluteLifetime},
		{"auth_code_lifetime", c.AuthCodeLifetime},
		{"auth_request_lifetime", c.AuthRequestLifetime},
	} {
		if l.d <= 0 || l.d > maxLifetime {
			errs = append(errs, &FieldError{l.path, "must be positive and at most a year"})
		}
	}
	// RFC 6749 §4.1.2: codes live at most 10 minutes.
	if c.AuthCodeLifetime > 10*time.Minute {
		errs = append(errs, &FieldError{"auth_code_lifetime", "must be at most 10m (RFC 6749 §4.1.2)"})
	}
	if c.RefreshReuseGrace < 0 || c.RefreshReuseGrace > time.Minute {
		errs = append(errs, &FieldError{"refresh_reuse_grace", "must be between 0 and 1m"})
	}
	if !strings.HasPrefix(c.LoginPath, "/") {
		errs = append(errs, &FieldError{"login_path", "must start with /"})
	}
	if !strings.HasPrefix(c.LoggedOutPath, "/") {
		errs = append(errs, &FieldError{"logged_out_path", "must start with /"})
	}
	return errors.Join(errs...)
}

// Handler returns every OP route. Mount it at "/" of the server's mux.
func (p *Provider) Handler() http.Handler { return p.handler }

// issuerCtx returns ctx carrying the issuer, which op needs to build absolute URLs.
func (p *Provider) issuerCtx(ctx context.Context) context.Context {
	return op.ContextWithIssuer(ctx, p.cfg.Issuer)
}

// AuthRequest returns a live authorization request and its client, for the login UI.
func (p *Provider) AuthRequest(ctx context.Context, id string) (store.AuthRequest, store.Client, error) {
	ar, err := p.st.GetAuthRequest(ctx, id)
	if err != nil {
		return store.AuthRequest{}, store.Client{}, fmt.Errorf("auth request: %w", err)
	}
	if !p.now().Before(ar.ExpiresAt) {
		return store.AuthRequest{}, store.Client{}, fmt.Errorf("auth request: %w", store.ErrNotFound)
	}
	c, err := p.st.GetClient(ctx, ar.ClientID)
	if err != nil {
		return store.AuthRequest{}, store.Client{}, fmt.Errorf("auth request %s: client: %w", id, err)
	}
	return ar, c, nil
}

// CompleteAuthRequest records that the session's user authenticated for the request and
// returns op's callback URL, where the browser goes next to collect the code.
func (p *Provider) CompleteAuthRequest(ctx context.Context, r *http.Request, id string, s store.Session) (string, error) {
	now := p.now()
	if s.Revoked || !now.Before(s.ExpiresAt) || s.UserID == "" {
		return "", ErrSessionInvalid
	}
	if err := p.checkUserActive(ctx, s.UserID); err != nil {
		return "", err
	}
	ar, _, err := p.AuthRequest(ctx, id)
	if err != nil {
		return "", err
	}
	if ar.Done && ar.SessionID != s.ID {
		return "", ErrAuthRequestDone
	}
	ar.Done, ar.UserID, ar.SessionID = true, s.UserID, s.ID
	ar.AuthTime, ar.AMR, ar.ACR = s.AuthTime, s.AMR, s.ACR
	if _, err := p.st.UpdateAuthRequest(ctx, ar); err != nil {
		return "", fmt.Errorf("complete auth request %s: %w", id, err)
	}
	p.audit.Record(ctx, audit.Event{
		Actor: s.UserID, Action: "oidc.authorize", Target: ar.ClientID, Outcome: audit.Success,
		SourceIP: sourceIP(r), Details: map[string]string{"auth_request": id},
	})
	return op.AuthCallbackURL(p.op)(p.issuerCtx(ctx), id), nil
}

// checkUserActive returns ErrSessionInvalid unless the user exists and is active.
func (p *Provider) checkUserActive(ctx context.Context, userID string) error {
	u, err := p.users.GetUser(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return ErrSessionInvalid
	}
	if err != nil {
		return fmt.Errorf("load user: %w", err)
	}
	if !u.Active {
		return ErrSessionInvalid
	}
	return nil
}

// DenyAuthRequest ends the request with an error and returns the URL that carries it
// to the client's (already validated) redirect_uri, with state and iss (RFC 9207).
func (p *Provider) DenyAuthRequest(ctx context.Context, id string, e *zoidc.Error) (string, error) {
	ar, _, err := p.AuthRequest(ctx, id)
	if err != nil {
		return "", err
	}
	if e == nil {
		e = zoidc.ErrAccessDenied()
	}
	u, err := url.Parse(ar.RedirectURI)
	if err != nil {
		return "", fmt.Errorf("deny auth request %s: redirect uri: %w", id, err)
	}
	q := u.Query()
	q.Set("error", string(e.ErrorType))
	if e.Description != "" {
		q.Set("error_description", e.Description)
	}
	if ar.State != "" {
		q.Set("state", ar.State)
	}
	q.Set("iss", p.cfg.Issuer)
	u.RawQuery = q.Encode()
	if err := p.st.DeleteAuthRequest(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("deny auth request %s: %w", id, err)
	}
	return u.String(), nil
}

func sourceIP(r *http.Request) string {
	if r == nil {
		return ""
	}
	return r.RemoteAddr
}
