package oidc

import (
	"net/url"
	"slices"
	"time"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/portcullis-id/portcullis/store"
)

// Grant types a client may list.
var knownGrantTypes = []string{
	string(zoidc.GrantTypeCode),
	string(zoidc.GrantTypeRefreshToken),
	string(zoidc.GrantTypeClientCredentials),
}

// Scopes we know what to do with; clients may allow others for their own APIs.
const (
	scopeGroups = "groups"
	// scopeRoles asks for the role names the mapping rules grant the user.
	scopeRoles = "roles"
)

var supportedScopes = []string{
	zoidc.ScopeOpenID, zoidc.ScopeProfile, zoidc.ScopeEmail, zoidc.ScopeOfflineAccess, scopeGroups, scopeRoles,
}

var supportedClaims = []string{
	"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp",
	"at_hash", "c_hash", "sid", "name", "preferred_username", "email", "groups", "roles",
}

// opClient adapts store.Client to op.Client for one request.
type opClient struct {
	c  store.Client
	p  *Provider
	rs *reqState // the /authorize request's state, or nil
}

var _ op.Client = (*opClient)(nil)

func (c *opClient) GetID() string                    { return c.c.ID }
func (c *opClient) RedirectURIs() []string           { return c.c.RedirectURIs }
func (c *opClient) PostLogoutRedirectURIs() []string { return c.c.PostLogoutRedirectURIs }

// ApplicationType is native only for native clients, whose loopback redirects op then
// allows on any port. op compares path and query only, so the handler checks the rest
// (scheme, host) before op sees the request (see checkNativeRedirect).
func (c *opClient) ApplicationType() op.ApplicationType {
	if c.c.Native {
		return op.ApplicationTypeNative
	}
	return op.ApplicationTypeWeb
}

func (c *opClient) AuthMethod() zoidc.AuthMethod {
	if c.c.Public {
		return zoidc.AuthMethodNone
	}
	return zoidc.AuthMethodBasic
}

// ResponseTypes: the code flow only. Implicit and hybrid put tokens in the front
// channel (RFC 9700 §2.1.2).
func (c *opClient) ResponseTypes() []zoidc.ResponseType {
	return []zoidc.ResponseType{zoidc.ResponseTypeCode}
}

func (c *opClient) GrantTypes() []zoidc.GrantType {
	out := make([]zoidc.GrantType, 0, len(c.c.GrantTypes))
	for _, g := range c.c.GrantTypes {
		out = append(out, zoidc.GrantType(g))
	}
	return out
}

// LoginURL sends the browser to the login UI, or, when prompt=none already completed
// the request from the browser session, straight to the callback.
func (c *opClient) LoginURL(id string) string {
	if c.rs != nil && c.rs.autoDone != "" && c.rs.autoDone == id {
		return c.p.issuerPath + "/authorize/callback?id=" + url.QueryEscape(id)
	}
	return c.p.issuerPath + c.p.cfg.LoginPath + "?authRequestID=" + url.QueryEscape(id)
}

// AccessTokenType is always bearer from op's point of view: the token crypto then
// mints the real token, a typ at+jwt JWT or an opaque one (see crypto.go).
func (c *opClient) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeBearer }

func (c *opClient) IDTokenLifetime() time.Duration {
	if c.c.IDTokenLifetime > 0 {
		return c.c.IDTokenLifetime
	}
	return c.p.cfg.IDTokenLifetime
}

// DevMode relaxes redirect checks far beyond RFC 8252; never.
func (c *opClient) DevMode() bool { return false }

func (c *opClient) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

func (c *opClient) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

func (c *opClient) IsScopeAllowed(scope string) bool { return slices.Contains(c.c.Scopes, scope) }

func (c *opClient) IDTokenUserinfoClaimsAssertion() bool { return false }

func (c *opClient) ClockSkew() time.Duration { return 0 }

// accessTokenLifetime is the client's or the default.
func (p *Provider) accessTokenLifetime(c store.Client) time.Duration {
	if c.AccessTokenLifetime > 0 {
		return c.AccessTokenLifetime
	}
	return p.cfg.AccessTokenLifetime
}

func (p *Provider) refreshIdleLifetime(c store.Client) time.Duration {
	if c.RefreshTokenLifetime > 0 {
		return c.RefreshTokenLifetime
	}
	return p.cfg.RefreshTokenLifetime
}

// familyUntil bounds how long a refresh family, or any access token of it, can be
// used when it starts at start: used as the Until of a "family:" revocation.
func (p *Provider) familyUntil(start time.Time) time.Time {
	return start.Add(p.cfg.RefreshAbsoluteLifetime + maxClientAccessTokenLifetime)
}

// allowedScopes filters requested to openid plus what the client allows.
func allowedScopes(c store.Client, requested []string) []string {
	out := make([]string, 0, len(requested))
	for _, s := range requested {
		if (s == zoidc.ScopeOpenID || slices.Contains(c.Scopes, s)) && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
