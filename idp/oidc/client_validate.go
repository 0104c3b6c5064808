package oidc

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/portcullis-id/portcullis/store"
)

// FieldError names the field of a client (or config) that is wrong and why.
type FieldError struct{ Path, Msg string }

func (e *FieldError) Error() string { return e.Path + ": " + e.Msg }

// Bounds on per-client lifetimes.
const (
	minTokenLifetime             = time.Minute
	maxClientAccessTokenLifetime = 24 * time.Hour
	maxClientIDTokenLifetime     = 24 * time.Hour
	maxClientRefreshLifetime     = 365 * 24 * time.Hour
	maxClientIDLen               = 128
)

// secretBytes is the entropy of a generated client secret: 256 bits, so a fast digest
// is as good as a slow hash (DESIGN.md: the Hydra trap).
const secretBytes = 32

// NewClientSecret generates a client secret. plain is shown once; s is what is stored
// (the SHA-256 digest). A zero expires means no expiry.
func NewClientSecret(rnd io.Reader, now time.Time, expires time.Time) (plain string, s store.ClientSecret, err error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	buf := make([]byte, secretBytes+8)
	if _, err := io.ReadFull(rnd, buf); err != nil {
		return "", store.ClientSecret{}, fmt.Errorf("generate client secret: %w", err)
	}
	if !expires.IsZero() && !expires.After(now) {
		return "", store.ClientSecret{}, fmt.Errorf("generate client secret: expiry %s is not after now", expires.Format(time.RFC3339))
	}
	plain = base64.RawURLEncoding.EncodeToString(buf[:secretBytes])
	digest := sha256.Sum256([]byte(plain))
	return plain, store.ClientSecret{
		ID:        hex.EncodeToString(buf[secretBytes:]),
		Digest:    digest[:],
		CreatedAt: now.UTC(),
		ExpiresAt: expires.UTC(),
	}, nil
}

// ValidateClient checks a client definition; every problem is reported, joined.
func ValidateClient(c store.Client) error {
	var errs []error
	add := func(path, msg string) { errs = append(errs, &FieldError{Path: path, Msg: msg}) }

	switch {
	case c.ID == "":
		add("id", "must not be empty")
	case len(c.ID) > maxClientIDLen:
		add("id", fmt.Sprintf("must be at most %d characters", maxClientIDLen))
	case c.ID == roleSessionClientID:
		// Role-session tokens carry client_id "sts"; a real client by that name would
		// have its tokens judged as role sessions.
		add("id", fmt.Sprintf("%q is reserved for role sessions", roleSessionClientID))
	case strings.ContainsFunc(c.ID, func(r rune) bool { return r <= ' ' || r >= 0x7f || r == ':' }):
		// ':' would break op's "id:subject" opaque token split (subjects of
		// client_credentials tokens are client ids) and the Basic auth syntax.
		add("id", "must be printable ASCII without spaces or ':'")
	}

	if len(c.GrantTypes) == 0 {
		add("grant_types", "must list at least one grant type")
	}
	for i, g := range c.GrantTypes {
		if !slices.Contains(knownGrantTypes, g) {
			add(fmt.Sprintf("grant_types[%d]", i), fmt.Sprintf("unknown grant type %q (known: %s)", g, strings.Join(knownGrantTypes, ", ")))
		}
	}
	if c.Public {
		if slices.Contains(c.GrantTypes, "client_credentials") {
			add("grant_types", "a public client cannot use client_credentials")
		}
		if len(c.Secrets) > 0 {
			add("secrets", "a public client has no secrets")
		}
	}
	if c.Native && !c.Public {
		// RFC 8252 §8.5: a secret shipped in an app is not a secret.
		add("native", "a native client must be public")
	}
	if len(c.Secrets) > 2 {
		add("secrets", "at most two secrets (current and next)")
	}
	for i, s := range c.Secrets {
		if s.ID == "" || len(s.Digest) != sha256.Size {
			add(fmt.Sprintf("secrets[%d]", i), "must have an id and a SHA-256 digest")
		}
	}

	if slices.Contains(c.GrantTypes, "authorization_code") && len(c.RedirectURIs) == 0 {
		add("redirect_uris", "required for the authorization_code grant")
	}
	for i, u := range c.RedirectURIs {
		if msg := checkRedirectURI(u, c.Native); msg != "" {
			add(fmt.Sprintf("redirect_uris[%d]", i), msg)
		}
	}
	for i, u := range c.PostLogoutRedirectURIs {
		if msg := checkRedirectURI(u, c.Native); msg != "" {
			add(fmt.Sprintf("post_logout_redirect_uris[%d]", i), msg)
		}
	}
	for i, s := range c.Scopes {
		if s == "" || strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r >= 0x7f || r == '"' || r == '\\' }) {
			// RFC 6749 §3.3 scope-token syntax.
			add(fmt.Sprintf("scopes[%d]", i), "must be a non-empty scope token")
		}
	}

	switch c.AccessTokenFormat {
	case "", store.AccessTokenJWT, store.AccessTokenOpaque:
	default:
		add("access_token_format", `must be "jwt" or "opaque"`)
	}
	checkLifetime := func(path string, d, max time.Duration) {
		if d != 0 && (d < minTokenLifetime || d > max) {
			add(path, fmt.Sprintf("must be 0 (default) or between %s and %s", minTokenLifetime, max))
		}
	}
	checkLifetime("access_token_lifetime", c.AccessTokenLifetime, maxClientAccessTokenLifetime)
	checkLifetime("id_token_lifetime", c.IDTokenLifetime, maxClientIDTokenLifetime)
	checkLifetime("refresh_token_lifetime", c.RefreshTokenLifetime, maxClientRefreshLifetime)
	return errors.Join(errs...)
}

// checkRedirectURI returns why u is not an acceptable redirect URI, or "".
func checkRedirectURI(raw string, native bool) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return "must be absolute"
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return "must not have a fragment (RFC 6749 §3.1.2)"
	}
	if u.User != nil {
		return "must not contain user info"
	}
	switch u.Scheme {
	case "https":
		if u.Host == "" {
			return "must be absolute"
		}
		return ""
	case "http":
		if u.Host == "" {
			return "must be absolute"
		}
		if !isLoopbackHost(u.Hostname()) {
			return "must be https (http only on a loopback host, RFC 8252 §7.3)"
		}
		return ""
	}
	// RFC 8252 §7.1: private-use schemes are reverse domain names, for native apps.
	if native && strings.Contains(u.Scheme, ".") {
		return ""
	}
	return "must be https, http on a loopback host, or a private-use scheme of a native client"
}

// isLoopbackHost reports whether host is localhost or a loopback IP literal.
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
