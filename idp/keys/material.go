package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"

	"github.com/portcullis-id/portcullis/idp/seal"
)

// Signing algorithms (RFC 7518 §3.1; EdDSA from RFC 8037 §3.1).
const (
	RS256 = "RS256" // RSASSA-PKCS1-v1_5 with SHA-256, RSA 2048. OIDC Core §15.1 requires it.
	ES256 = "ES256" // ECDSA P-256 with SHA-256.
	EdDSA = "EdDSA" // Ed25519.
)

// rsaBits is the RSA modulus size. RFC 7518 §3.3 requires at least 2048 bits; larger
// keys make every signature several times slower for no practical gain today.
const rsaBits = 2048

// ErrUnsupportedAlgorithm is returned for an algorithm other than RS256, ES256, EdDSA.
var ErrUnsupportedAlgorithm = errors.New("unsupported signing algorithm")

// ErrKeyMismatch is returned when a stored key is inconsistent: the private key is not
// of the type its algorithm needs, or the stored public key is not its public half.
var ErrKeyMismatch = errors.New("signing key record is inconsistent")

func supported(alg string) bool {
	switch alg {
	case RS256, ES256, EdDSA:
		return true
	}
	return false
}

// generate creates a private key for alg.
func generate(alg string) (crypto.Signer, error) {
	switch alg {
	case RS256:
		return rsa.GenerateKey(rand.Reader, rsaBits)
	case ES256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case EdDSA:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	}
	return nil, fmt.Errorf("generate key for %q: %w", alg, ErrUnsupportedAlgorithm)
}

// checkType verifies that signer is the key type alg needs. The algorithm field of a
// record is not sealed, so it is checked against the sealed key rather than trusted.
func checkType(alg string, signer crypto.Signer) error {
	switch k := signer.(type) {
	case *rsa.PrivateKey:
		if alg == RS256 && k.N.BitLen() >= rsaBits {
			return nil
		}
	case *ecdsa.PrivateKey:
		if alg == ES256 && k.Curve == elliptic.P256() {
			return nil
		}
	case ed25519.PrivateKey:
		if alg == EdDSA {
			return nil
		}
	}
	return fmt.Errorf("private key %T does not fit algorithm %s: %w", signer, alg, ErrKeyMismatch)
}

// newKeyID returns 12 random bytes in base64url: 96 bits make a collision between
// instances that generate keys at the same moment negligible, and the kid reveals
// nothing about the key.
func newKeyID() (string, error) {
	b := make([]byte, 12)
	if _, err := io.ReadFull(rand.Reader, b); err != nil {
		return "", fmt.Errorf("generate key id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// sealAAD binds a sealed private key to its record: a sealed key copied into another
// record does not open.
func sealAAD(kid string) []byte { return []byte("signing_keys/" + kid) }

// sealPrivate returns the sealed PKCS#8 DER and the PKIX DER of the public half.
func sealPrivate(s *seal.Sealer, kid string, signer crypto.Signer) (sealed, public []byte, err error) {
	der, err := x509.MarshalPKCS8PrivateKey(signer)
	if err != nil {
		return nil, nil, fmt.Errorf("marshal private key %s: %w", kid, err)
	}
	defer clear(der)
	sealed, err = s.Seal(der, sealAAD(kid))
	if err != nil {
		return nil, nil, fmt.Errorf("seal private key %s: %w", kid, err)
	}
	public, err = x509.MarshalPKIXPublicKey(signer.Public())
	if err != nil {
		return nil, nil, fmt.Errorf("marshal public key %s: %w", kid, err)
	}
	return sealed, public, nil
}

// openPrivate unseals and parses a stored key and checks it against its algorithm and
// stored public half.
func openPrivate(s *seal.Sealer, kid, alg string, sealed, public []byte) (crypto.Signer, error) {
	if !supported(alg) {
		return nil, fmt.Errorf("signing key %s: algorithm %q: %w", kid, alg, ErrUnsupportedAlgorithm)
	}
	der, err := s.Open(sealed, sealAAD(kid))
	if err != nil {
		return nil, fmt.Errorf("unseal signing key %s (is this the seal key the data was written with?): %w", kid, err)
	}
	defer clear(der)
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("parse signing key %s: %w", kid, err)
	}
	signer, ok := parsed.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("signing key %s: %T is not a signer: %w", kid, parsed, ErrKeyMismatch)
	}
	if err := checkType(alg, signer); err != nil {
		return nil, fmt.Errorf("signing key %s: %w", kid, err)
	}
	pub, err := x509.ParsePKIXPublicKey(public)
	if err != nil {
		return nil, fmt.Errorf("parse public key of signing key %s: %w", kid, err)
	}
	eq, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !eq.Equal(pub) {
		return nil, fmt.Errorf("signing key %s: stored public key is not the private key's: %w", kid, ErrKeyMismatch)
	}
	return signer, nil
}
