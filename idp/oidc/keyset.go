package oidc

import (
	"context"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/portcullis-id/portcullis/idp/keys"
)

// KeySource is the part of the key manager the provider needs.
type KeySource interface {
	Current() keys.Key
	PublicKeys() []keys.Key
	JWKS() []byte
	Algorithms() []string
}

// verifierAlgorithms is what op's own verifiers (id_token_hint, and its access-token
// fallback) accept. op defaults to RS256/ES256/PS256, which would make EdDSA hints fail
// (LIBRARIES.md §9). The key is still looked up by kid in our own key set.
var verifierAlgorithms = []string{"RS256", "ES256", "EdDSA"}

// signingKey adapts keys.Key to op.SigningKey (ID tokens).
type signingKey struct{ k keys.Key }

var _ op.SigningKey = signingKey{}

func (s signingKey) SignatureAlgorithm() jose.SignatureAlgorithm {
	return jose.SignatureAlgorithm(s.k.Algorithm)
}
func (s signingKey) Key() any   { return joseSigningKey(s.k.Private) }
func (s signingKey) ID() string { return s.k.ID }

// publicKey adapts keys.Key to op.Key. Key returns the PUBLIC half: op marshals it
// into /keys and a private key would publish "d" (LIBRARIES.md §9).
type publicKey struct{ k keys.Key }

var _ op.Key = publicKey{}

func (p publicKey) ID() string                         { return p.k.ID }
func (p publicKey) Algorithm() jose.SignatureAlgorithm { return jose.SignatureAlgorithm(p.k.Algorithm) }
func (p publicKey) Use() string                        { return "sig" }
func (p publicKey) Key() any                           { return p.k.Public }

// SigningKey implements op.Storage: ID tokens are signed with the current key.
func (s *storage) SigningKey(context.Context) (op.SigningKey, error) {
	return signingKey{s.p.keys.Current()}, nil
}

// SignatureAlgorithms implements op.Storage (discovery only; ours is pre-rendered).
func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	algs := s.p.keys.Algorithms()
	out := make([]jose.SignatureAlgorithm, len(algs))
	for i, a := range algs {
		out[i] = jose.SignatureAlgorithm(a)
	}
	return out, nil
}

// KeySet implements op.Storage: the published public keys, used by op's verifiers.
func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	pub := s.p.keys.PublicKeys()
	out := make([]op.Key, len(pub))
	for i, k := range pub {
		out[i] = publicKey{k}
	}
	return out, nil
}
