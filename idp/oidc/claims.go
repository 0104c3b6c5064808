package oidc

import (
	"errors"
	"strings"
)

// mintedPrefix marks the token id CreateAccessToken and CreateAccessAndRefreshTokens
// hand op: the access token itself, already signed or sealed (see newAccessToken), so
// nothing has to be stored per access token (DESIGN.md: no record per JWT access token)
// and the claims are never re-encoded. op appends ":" + subject before Encrypt, which
// returns the token (crypto.go). Neither form of token contains ':' and no auth request
// id (a UUID, the only other input of Encrypt) starts with the prefix.
const mintedPrefix = "at."

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
	Roles  []string `json:"roles,omitempty"`
}

// userToken reports whether the token was issued to a user (not client_credentials).
func (c *accessClaims) userToken() bool { return c.GID != "" }

// scopes returns the scope claim as a list.
func (c *accessClaims) scopes() []string { return strings.Fields(c.Scope) }
