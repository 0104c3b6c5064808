package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"testing"
)

// FuzzOpenPrivate feeds arbitrary key records, sealed correctly so that the bytes reach
// the PKCS#8 and PKIX parsers and the consistency checks, which must never panic and
// never accept a key that does not fit its algorithm and public half.
func FuzzOpenPrivate(f *testing.F) {
	s := newSealer(f, 1)
	ec, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ec)
	ecPub, _ := x509.MarshalPKIXPublicKey(ec.Public())
	edDER, _ := x509.MarshalPKCS8PrivateKey(ed)
	edPub, _ := x509.MarshalPKIXPublicKey(ed.Public())
	f.Add(EdDSA, edDER, edPub)
	f.Add(ES256, edDER, edPub)
	f.Add(ES256, ecDER, ecPub) // P-384 is not ES256
	f.Add(EdDSA, edDER, ecPub)
	f.Add(RS256, []byte{0x30, 0x00}, []byte{})
	f.Add("none", edDER, edPub)
	f.Fuzz(func(t *testing.T, alg string, der, public []byte) {
		sealed, err := s.Seal(der, sealAAD("kid"))
		if err != nil {
			t.Fatal(err)
		}
		signer, err := openPrivate(s, "kid", alg, sealed, public)
		if err != nil {
			return
		}
		if checkType(alg, signer) != nil {
			t.Fatalf("accepted %T for %s", signer, alg)
		}
		parsed, err := x509.ParsePKIXPublicKey(public)
		eq, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool })
		if err != nil || !ok || !eq.Equal(parsed) {
			t.Fatal("accepted a public key that is not the private key's")
		}
	})
}
