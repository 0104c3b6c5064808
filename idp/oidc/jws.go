package oidc

import (
	"crypto"

	"github.com/portcullis-id/portcullis/idp/keys"
)

// accessSigner signs access-token payloads with one key as compact JWS with the
// protected header {"alg","kid","typ":"at+jwt"}.
type accessSigner = keys.CompactSigner

func newAccessSigner(kid, alg string, key crypto.Signer) (accessSigner, error) {
	return keys.NewCompactSigner(kid, alg, typATJWT, key)
}

// joseSigningKey is keys.JoseSigningKey.
func joseSigningKey(s crypto.Signer) any { return keys.JoseSigningKey(s) }
