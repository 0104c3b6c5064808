package oidc

import (
	"encoding/json"
	"errors"
	"slices"
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
	Audience audience `json:"aud"`
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

// The client_id and aud of a role-session token: the STS (idp/sts SessionTokenClientID
// and SessionTokenAudience) signs these at+jwt tokens with our keys, for services that
// accept STS sessions. No OAuth client issued them, so they are judged by the stored
// role session, never as a client's token.
const (
	roleSessionClientID = "sts"
	roleSessionAudience = "sts"
)

// roleSession reports whether the token is a role-session token of the STS.
func (c *accessClaims) roleSession() bool {
	return c.ClientID == roleSessionClientID && slices.Contains(c.Audience, roleSessionAudience)
}

// opSubject is the subject Decrypt hands op next to the token. op splits on ':' and
// a role session's subject is an assumed-role ARN, full of them, so its jti (the access
// key id) stands in; storage compares it with the same method.
func (c *accessClaims) opSubject() string {
	if c.roleSession() {
		return c.JTI
	}
	return c.Subject
}

// audience is the aud claim. RFC 7519 §4.1.3 allows one string or an array: our access
// tokens carry an array, role-session tokens a string. It encodes as an array.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var one string
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*a = many
	return nil
}
