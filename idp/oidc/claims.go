package oidc

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Access token formats as the token crypto sees them.
const (
	formatJWT    = "jwt"
	formatOpaque = "opaque"
)

// stagedPrefix marks a token id produced by CreateAccessToken. The rest is the
// base64url JSON of a stagedToken, so the id carries the whole claim set and nothing
// has to be stored per access token (DESIGN.md: no record per JWT access token).
// base64url has no ':' and op joins id and subject with ':' before Encrypt.
const stagedPrefix = "at."

// maxTokenLen caps what is parsed as an access token (RFC 8725 §3.1 and go-jose
// CVE-2024-28180: bound the input before decoding).
const maxTokenLen = 16 << 10

var errNotAccessToken = errors.New("not an access token issued here")

// accessClaims is the claim set of an access token (RFC 9068 §2.2). Both formats carry
// it: signed as the JWT payload, or sealed inside an opaque token.
type accessClaims struct {
	Issuer   string   `json:"iss"`
	Subject  string   `json:"sub"`
	Audience []string `json:"aud"`
	Expiry   int64    `json:"exp"`
	IssuedAt int64    `json:"iat"`
	JTI      string   `json:"jti"`
	ClientID string   `json:"client_id"`
	Scope    string   `json:"scope,omitempty"`
	AuthTime int64    `json:"auth_time,omitempty"`
	AMR      []string `json:"amr,omitempty"`
	ACR      string   `json:"acr,omitempty"`
	SID      string   `json:"sid,omitempty"`
	// GID is the grant: the auth request the token descends from, which is also the
	// id of its refresh family. Every user token has one; client_credentials tokens
	// do not, which is how the two are told apart.
	GID    string   `json:"gid,omitempty"`
	Groups []string `json:"groups,omitempty"`
}

// userToken reports whether the token was issued to a user (not client_credentials).
func (c *accessClaims) userToken() bool { return c.GID != "" }

// scopes returns the scope claim as a list.
func (c *accessClaims) scopes() []string { return strings.Fields(c.Scope) }

// stagedToken is what CreateAccessToken hands op as the token id: the claims and the
// format the client wants.
type stagedToken struct {
	Format string       `json:"f"`
	Claims accessClaims `json:"c"`
}

func encodeStaged(t stagedToken) (string, error) {
	b, err := json.Marshal(t)
	if err != nil {
		return "", fmt.Errorf("encode access token claims: %w", err)
	}
	return stagedPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// decodeStaged parses "at.<b64>:<sub>" as produced by op's CreateBearerToken and checks
// that the subject op appended is the one in the claims.
func decodeStaged(s string) (stagedToken, error) {
	rest, ok := strings.CutPrefix(s, stagedPrefix)
	if !ok {
		return stagedToken{}, errNotAccessToken
	}
	b64, sub, ok := strings.Cut(rest, ":")
	if !ok {
		return stagedToken{}, fmt.Errorf("staged access token: missing subject")
	}
	raw, err := base64.RawURLEncoding.DecodeString(b64)
	if err != nil {
		return stagedToken{}, fmt.Errorf("staged access token: %w", err)
	}
	var t stagedToken
	if err := json.Unmarshal(raw, &t); err != nil {
		return stagedToken{}, fmt.Errorf("staged access token: %w", err)
	}
	if t.Claims.Subject == "" || t.Claims.Subject != sub {
		return stagedToken{}, fmt.Errorf("staged access token: subject mismatch")
	}
	if t.Format != formatJWT && t.Format != formatOpaque {
		return stagedToken{}, fmt.Errorf("staged access token: unknown format %q", t.Format)
	}
	return t, nil
}
