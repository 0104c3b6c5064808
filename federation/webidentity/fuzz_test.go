package webidentity

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// fuzzVerifier trusts one air-gapped issuer, so fuzzing never touches the
// network, and pins the clock so seeded tokens stay valid.
func fuzzVerifier(f *testing.F) (*Verifier, *fakeClock) {
	set, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{rsaA().jwk(), ecA().jwk(), edA().jwk()}})
	if err != nil {
		f.Fatal(err)
	}
	clock := newFakeClock()
	is := Issuer{
		Name:       "fuzz",
		URL:        "https://issuer.fuzz.test",
		Audiences:  []string{testAudience},
		Algorithms: []string{"RS256", "ES256", "EdDSA"},
		InlineJWKS: set,
	}
	v, err := NewVerifier([]Issuer{is}, Options{Now: clock.Now})
	if err != nil {
		f.Fatal(err)
	}
	return v, clock
}

func FuzzVerify(f *testing.F) {
	v, clock := fuzzVerifier(f)
	iss := "https://issuer.fuzz.test"
	claims := githubClaims(iss, clock.Now())
	for _, k := range []testKey{rsaA(), ecA(), edA()} {
		f.Add(sign(f, k, claims, nil))
	}
	f.Add(sign(f, ecA(), claims, map[jose.HeaderKey]any{"jku": "http://127.0.0.1:1/jwks", "x5u": "http://127.0.0.1:1/x5u"}))
	pubDER, err := x509.MarshalPKIXPublicKey(rsaKeyA().Public())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sign(f, testKey{alg: jose.HS256, kid: "rsa-a", hmac: pubDER}, claims, nil))
	expired := githubClaims(iss, clock.Now().Add(-48*time.Hour))
	f.Add(sign(f, rsaA(), expired, nil))
	arrayAud := githubClaims(iss, clock.Now())
	arrayAud["aud"] = []any{"x", testAudience, 3}
	f.Add(sign(f, ecA(), arrayAud, nil))
	// Header and payload of a real token with the signature cut, and the
	// unsigned form.
	raw := sign(f, ecA(), claims, nil)
	f.Add(raw[:strings.LastIndex(raw, ".")+1])
	f.Add(`eyJhbGciOiJub25lIn0.` + raw[strings.Index(raw, ".")+1:strings.LastIndex(raw, ".")] + `.`)
	for _, s := range []string{"", ".", "..", "...", "a.b.c", "{}", `{"payload":"e30","signatures":[]}`, strings.Repeat("a.", 200)} {
		f.Add(s)
	}

	sentinels := []error{ErrInvalidToken, ErrExpired, ErrAudience, ErrReplay, ErrIssuerUnavailable}
	f.Fuzz(func(t *testing.T, raw string) {
		tok, err := v.Verify(context.Background(), raw)
		if err != nil {
			if !slices.ContainsFunc(sentinels, func(s error) bool { return errors.Is(err, s) }) {
				t.Fatalf("error without a sentinel: %v", err)
			}
			return
		}
		if tok.Issuer == nil || tok.Issuer.URL != iss || tok.Subject == "" || len(tok.Audience) == 0 {
			t.Fatalf("accepted token with incomplete fields: %+v", tok)
		}
		for k, vals := range tok.ConditionKeys() {
			if !strings.HasPrefix(k, "issuer.fuzz.test:") || len(vals) == 0 {
				t.Fatalf("bad condition key %q = %q", k, vals)
			}
		}
	})
}

func FuzzParseJWKS(f *testing.F) {
	set, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{rsaA().jwk(), ecA().jwk(), edA().jwk()}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(set)
	f.Add([]byte(`{"keys":[{"kty":"oct","k":"AAAA"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"","y":""}]}`))
	f.Add([]byte(`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB","use":"sig"}]}`))
	f.Add([]byte(`{"keys":null}`))
	allowed := map[jose.SignatureAlgorithm]bool{jose.RS256: true, jose.PS256: true, jose.ES256: true, jose.EdDSA: true}
	f.Fuzz(func(t *testing.T, data []byte) {
		ks, err := parseJWKS(data, allowed)
		if err != nil {
			return
		}
		if ks.n == 0 {
			t.Fatal("parseJWKS returned an empty set without error")
		}
		for _, keys := range ks.byKID {
			for _, k := range keys {
				ok := false
				for a := range allowed {
					ok = ok || k.fits(a)
				}
				if !ok {
					t.Fatalf("kept key %T fits no allowed algorithm", k.pub)
				}
			}
		}
	})
}

func FuzzConditionKeys(f *testing.F) {
	f.Add([]byte(`{"sub":"repo:o/r:ref:refs/heads/main","aud":["a","b"],"n":1e3,"b":true,"o":{"x":1}}`))
	f.Add([]byte(`{"big":123456789012345678901234567890,"neg":-0.0,"e":1e400,"l":[1,"a",null]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		claims, err := decodeClaims(data)
		if err != nil {
			return
		}
		tok := &Token{Issuer: &Issuer{URL: "https://token.actions.githubusercontent.com"}, Claims: claims}
		for k, vals := range tok.ConditionKeys() {
			if !strings.HasPrefix(k, "token.actions.githubusercontent.com:") || len(vals) == 0 {
				t.Fatalf("bad condition key %q = %q", k, vals)
			}
			for _, s := range vals {
				if strings.ContainsAny(s, "eE") && isNumberClaim(claims[strings.TrimPrefix(k, "token.actions.githubusercontent.com:")]) {
					t.Fatalf("number written with an exponent: %q", s)
				}
			}
		}
	})
}

func isNumberClaim(v any) bool {
	_, ok := v.(json.Number)
	return ok
}
