package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/cryptosigner"
)

// CompactSigner signs payloads with one key as compact JWS (RFC 7515 §7.1) with the
// protected header {"alg","kid","typ"}.
type CompactSigner interface {
	SignCompact(payload []byte) (string, error)
}

// NewCompactSigner returns the signer of key kid. The key types the manager makes
// (ES256 on P-256, RS256, EdDSA) are signed by compactSigner, which encodes the
// protected header once per key instead of once per token and serializes in one
// buffer; the signature itself is the standard library's, computed as go-jose does.
// Any other key (an HSM or KMS signer) is signed by go-jose.
func NewCompactSigner(kid, alg, typ string, key crypto.Signer) (CompactSigner, error) {
	var (
		sign   func(input []byte) ([]byte, error)
		sigLen int
	)
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		if alg == string(jose.ES256) && k.Curve == elliptic.P256() {
			sign, sigLen = func(input []byte) ([]byte, error) { return signES256(k, input) }, 64
		}
	case *rsa.PrivateKey:
		if alg == string(jose.RS256) {
			sign, sigLen = func(input []byte) ([]byte, error) {
				digest := sha256.Sum256(input)
				return rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, digest[:])
			}, k.Size()
		}
	case ed25519.PrivateKey:
		if alg == string(jose.EdDSA) {
			sign, sigLen = func(input []byte) ([]byte, error) { return ed25519.Sign(k, input), nil }, ed25519.SignatureSize
		}
	case *ed25519.PrivateKey:
		if alg == string(jose.EdDSA) {
			kk := *k
			sign, sigLen = func(input []byte) ([]byte, error) { return ed25519.Sign(kk, input), nil }, ed25519.SignatureSize
		}
	}
	if sign == nil {
		s, err := jose.NewSigner(jose.SigningKey{
			Algorithm: jose.SignatureAlgorithm(alg),
			Key:       jose.JSONWebKey{Key: JoseSigningKey(key), KeyID: kid},
		}, (&jose.SignerOptions{}).WithType(jose.ContentType(typ)))
		if err != nil {
			return nil, fmt.Errorf("signer for key %s: %w", kid, err)
		}
		return joseSigner{s}, nil
	}
	// The members in go-jose's order (sorted), so tokens look the same either way.
	header, err := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ"`
	}{alg, kid, typ})
	if err != nil {
		return nil, fmt.Errorf("signer for key %s: %w", kid, err)
	}
	prefix := base64.RawURLEncoding.AppendEncode(nil, header)
	return &compactSigner{prefix: append(prefix, '.'), sigLen: sigLen, sign: sign}, nil
}

// compactSigner is a CompactSigner for a key the standard library signs with.
type compactSigner struct {
	prefix []byte // base64url(protected header) + "."
	sigLen int    // bytes of a signature
	sign   func(signingInput []byte) ([]byte, error)
}

func (s *compactSigner) SignCompact(payload []byte) (string, error) {
	enc := base64.RawURLEncoding
	buf := make([]byte, 0, len(s.prefix)+enc.EncodedLen(len(payload))+1+enc.EncodedLen(s.sigLen))
	buf = append(buf, s.prefix...)
	buf = enc.AppendEncode(buf, payload)
	sig, err := s.sign(buf)
	if err != nil {
		return "", err
	}
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, sig)
	return string(buf), nil
}

// signES256 signs input with ES256: the SHA-256 digest signed with ECDSA on P-256, the
// signature as R || S, each 32 bytes big-endian (RFC 7518 §3.4).
func signES256(k *ecdsa.PrivateKey, input []byte) ([]byte, error) {
	digest := sha256.Sum256(input)
	r, s, err := ecdsa.Sign(rand.Reader, k, digest[:])
	if err != nil {
		return nil, err
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return sig, nil
}

// joseSigner is a CompactSigner backed by go-jose.
type joseSigner struct{ s jose.Signer }

func (j joseSigner) SignCompact(payload []byte) (string, error) {
	jws, err := j.s.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

// JoseSigningKey returns the private key in a form go-jose signs with: the concrete key
// types it knows, or an opaque signer for anything else (an HSM or KMS signer).
func JoseSigningKey(s crypto.Signer) any {
	switch k := s.(type) {
	case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
		return k
	case *ed25519.PrivateKey:
		return *k
	default:
		return cryptosigner.Opaque(s)
	}
}
