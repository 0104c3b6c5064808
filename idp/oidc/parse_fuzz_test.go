package oidc

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/idp/keys"
)

// staticKeys is a one-key KeySource.
type staticKeys struct{ k keys.Key }

func (s staticKeys) Current() keys.Key { return s.k }
func (s staticKeys) PublicKeys() []keys.Key {
	return []keys.Key{{ID: s.k.ID, Algorithm: s.k.Algorithm, Public: s.k.Public}}
}
func (s staticKeys) JWKS() []byte         { return nil }
func (s staticKeys) Algorithms() []string { return []string{s.k.Algorithm} }

// FuzzParseAccessToken feeds arbitrary strings to the parser every presented bearer
// token goes through (introspection, userinfo, revocation). It must never panic, and
// it may accept only what differs from a token minted here by nothing that matters.
func FuzzParseAccessToken(f *testing.F) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	c, err := newTokenCrypto("http://127.0.0.1:8080", [32]byte{1, 2, 3}, staticKeys{keys.Key{ID: "k1", Algorithm: "ES256", Private: priv, Public: priv.Public()}}, func() time.Time { return now })
	if err != nil {
		f.Fatal(err)
	}
	claims := &accessClaims{Issuer: "http://127.0.0.1:8080", Subject: "user-1", ClientID: "app", JTI: "j1",
		IssuedAt: now.Unix(), Expiry: now.Add(time.Minute).Unix(), Audience: []string{"app"}}
	jwt, err := c.mint(claims, false)
	if err != nil {
		f.Fatal(err)
	}
	opaque, err := c.mint(claims, true)
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{jwt, opaque, "", "a.b.c", "at.", strings.Repeat("A", 5000), jwt[:len(jwt)-3] + "AAA", "eyJhbGciOiJub25lIn0.e30."} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		got, err := c.parse(tok)
		if err != nil {
			return
		}
		if got.Subject != "user-1" || got.ClientID != "app" {
			t.Fatalf("accepted a token with other claims: %+v", got)
		}
	})
}
