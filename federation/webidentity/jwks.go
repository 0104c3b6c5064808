package webidentity

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/go-jose/go-jose/v4"
)

const (
	// maxJWKSKeys bounds the work one key set can cause: decoding an RSA
	// JWK costs a quarter of a millisecond, and real issuers publish a
	// handful of keys (current, next, previous).
	maxJWKSKeys = 100
	// minRSABits follows NIST SP 800-131A: smaller RSA keys are not trusted
	// to sign anything that grants access.
	minRSABits = 2048
)

// verificationKey is one usable public key from an issuer's JWKS.
type verificationKey struct {
	kid string
	// alg is the key's own "alg" (RFC 7517 §4.4), empty when the key may be
	// used with any allowed algorithm its type supports.
	alg jose.SignatureAlgorithm
	pub crypto.PublicKey
}

// fits reports whether the key may verify a signature made with alg: the
// key's own alg must agree when set, and the key type must be the one the
// algorithm is defined for (RFC 7518 §3.3–3.5, RFC 8037 §3.1). Checking the
// type here, not only in go-jose, keeps a key of one kind from ever being
// offered to another kind's verifier.
func (k verificationKey) fits(alg jose.SignatureAlgorithm) bool {
	if k.alg != "" && k.alg != alg {
		return false
	}
	switch pub := k.pub.(type) {
	case *rsa.PublicKey:
		return alg == jose.RS256 || alg == jose.PS256
	case *ecdsa.PublicKey:
		return alg == jose.ES256 && pub.Curve == elliptic.P256()
	case ed25519.PublicKey:
		return alg == jose.EdDSA
	default:
		return false
	}
}

// keySet is a parsed JWKS, indexed by kid. A kid may repeat (a sloppy
// rotation publishing one kid for two key types); the candidates are
// filtered by algorithm at verification time.
type keySet struct {
	byKID map[string][]verificationKey
	n     int
}

// find returns the keys that may verify a signature by kid with alg. A
// token without kid matches only a set holding exactly one fitting key: a
// verifier that tried every key would let one token cost many signature
// checks.
func (s *keySet) find(kid string, alg jose.SignatureAlgorithm) []verificationKey {
	if s == nil {
		return nil
	}
	var out []verificationKey
	if kid != "" {
		for _, k := range s.byKID[kid] {
			if k.fits(alg) {
				out = append(out, k)
			}
		}
		return out
	}
	for _, keys := range s.byKID {
		for _, k := range keys {
			if k.fits(alg) {
				out = append(out, k)
			}
		}
	}
	if len(out) != 1 {
		return nil
	}
	return out
}

// jwkMeta holds the members of a JWK this package decides on itself.
// go-jose does not expose key_ops.
type jwkMeta struct {
	Use    *string  `json:"use"`
	KeyOps []string `json:"key_ops"`
	Alg    string   `json:"alg"`
}

// errNoUsableKeys is returned when a key set parses but offers nothing to
// verify with; a fetched set like that is treated as a failed fetch so the
// cached keys keep serving.
var errNoUsableKeys = errors.New("key set has no usable signing keys")

// parseJWKS decodes a JWK Set (RFC 7517 §5) and keeps only the keys that may
// verify this issuer's tokens. Keys are skipped, not fatal, when they are
// for encryption (use other than "sig", key_ops without "verify"), declare
// an alg outside the allow-list, are symmetric, of an unsupported type, or
// too weak; issuers legitimately publish keys this verifier has no use for.
func parseJWKS(data []byte, allowed map[jose.SignatureAlgorithm]bool) (*keySet, error) {
	var doc struct {
		Keys *[]json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("decode key set: %v", err)
	}
	if doc.Keys == nil {
		return nil, errors.New(`key set has no "keys" member`)
	}
	if len(*doc.Keys) > maxJWKSKeys {
		return nil, fmt.Errorf("key set has %d keys, limit is %d", len(*doc.Keys), maxJWKSKeys)
	}
	set := &keySet{byKID: make(map[string][]verificationKey)}
	for _, raw := range *doc.Keys {
		k, ok := usableKey(raw, allowed)
		if !ok {
			continue
		}
		set.byKID[k.kid] = append(set.byKID[k.kid], k)
		set.n++
	}
	if set.n == 0 {
		return nil, errNoUsableKeys
	}
	return set, nil
}

func usableKey(raw json.RawMessage, allowed map[jose.SignatureAlgorithm]bool) (verificationKey, bool) {
	var meta jwkMeta
	if err := json.Unmarshal(raw, &meta); err != nil {
		return verificationKey{}, false
	}
	// RFC 7517 §4.2: "use" is "sig" or "enc"; absent means unspecified.
	if meta.Use != nil && *meta.Use != "sig" {
		return verificationKey{}, false
	}
	// RFC 7517 §4.3: when key_ops is present it must allow verification.
	if meta.KeyOps != nil && !slices.Contains(meta.KeyOps, "verify") {
		return verificationKey{}, false
	}
	alg := jose.SignatureAlgorithm(meta.Alg)
	if alg != "" && !allowed[alg] {
		return verificationKey{}, false
	}
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(raw); err != nil {
		return verificationKey{}, false
	}
	if !jwk.IsPublic() {
		// A private key published by mistake still carries the public
		// part; never hold on to the private material.
		jwk = jwk.Public()
	}
	k := verificationKey{kid: jwk.KeyID, alg: alg}
	switch pub := jwk.Key.(type) {
	case *rsa.PublicKey:
		if pub.N.BitLen() < minRSABits {
			return verificationKey{}, false
		}
		k.pub = pub
	case *ecdsa.PublicKey:
		k.pub = pub
	case ed25519.PublicKey:
		k.pub = pub
	default:
		// Symmetric ("oct") keys in particular: never usable, whatever
		// alg a token claims.
		return verificationKey{}, false
	}
	for a := range allowed {
		if k.fits(a) {
			return k, true
		}
	}
	return verificationKey{}, false
}
