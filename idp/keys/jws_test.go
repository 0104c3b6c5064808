package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"io"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// The compact signer must produce what the go-jose signer it replaces produced: the
// same protected header, and a signature go-jose verifies.
func TestCompactSignerMatchesGoJose(t *testing.T) {
	t.Parallel()
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	for _, c := range []struct {
		alg     string
		key     crypto.Signer
		compact bool
	}{
		{"ES256", ec, true},
		{"RS256", rk, true},
		{"EdDSA", edPriv, true},
		{"EdDSA", &edPriv, true},
		{"ES384", p384, false},             // not a key type of ours: go-jose signs
		{"ES256", opaqueSigner{ec}, false}, // an HSM-like signer: go-jose signs
	} {
		kid := "kid-" + c.alg
		s, err := NewCompactSigner(kid, c.alg, "at+jwt", c.key)
		if err != nil {
			t.Fatalf("%s: %v", c.alg, err)
		}
		if _, ok := s.(*compactSigner); ok != c.compact {
			t.Errorf("%s %T: compact signer %v, want %v", c.alg, c.key, ok, c.compact)
		}
		ref, err := jose.NewSigner(jose.SigningKey{
			Algorithm: jose.SignatureAlgorithm(c.alg),
			Key:       jose.JSONWebKey{Key: JoseSigningKey(c.key), KeyID: kid},
		}, (&jose.SignerOptions{}).WithType("at+jwt"))
		if err != nil {
			t.Fatal(err)
		}
		payload := []byte(`{"iss":"https://idp.example","sub":"svc","aud":["svc"],"exp":2,"iat":1,"jti":"j","client_id":"svc"}`)
		tok, err := s.SignCompact(payload)
		if err != nil {
			t.Fatalf("%s: %v", c.alg, err)
		}
		want, _ := ref.Sign(payload)
		wantTok, _ := want.CompactSerialize()
		gotHdr, _, _ := strings.Cut(tok, ".")
		wantHdr, _, _ := strings.Cut(wantTok, ".")
		if gotHdr != wantHdr {
			t.Errorf("%s: header %s, go-jose %s", c.alg, gotHdr, wantHdr)
		}
		jws, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(c.alg)})
		if err != nil {
			t.Fatalf("%s: parse: %v", c.alg, err)
		}
		got, err := jws.Verify(c.key.Public())
		if err != nil || string(got) != string(payload) {
			t.Errorf("%s: verify: %v %s", c.alg, err, got)
		}
		if strings.Count(tok, ".") != 2 || strings.ContainsAny(tok, "=+/:") {
			t.Errorf("%s: not compact base64url: %s", c.alg, tok)
		}
	}
}

// opaqueSigner hides the concrete key type, as an HSM or KMS signer does.
type opaqueSigner struct{ k crypto.Signer }

func (o opaqueSigner) Public() crypto.PublicKey { return o.k.Public() }
func (o opaqueSigner) Sign(r io.Reader, d []byte, opts crypto.SignerOpts) ([]byte, error) {
	return o.k.Sign(r, d, opts)
}
