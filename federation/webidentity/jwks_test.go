package webidentity

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

// jwkJSON renders k as a JWK and lets the test edit its members.
func jwkJSON(t *testing.T, k jose.JSONWebKey, edit func(m map[string]any)) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(k)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(m)
	}
	if b, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	return b
}

func jwksOf(t *testing.T, keys ...json.RawMessage) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseJWKSKeepsOnlyUsableSigningKeys(t *testing.T) {
	t.Parallel()
	allowed := map[jose.SignatureAlgorithm]bool{jose.RS256: true, jose.ES256: true}
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaJWK := rsaA().jwk()
	set := func(edit func(m map[string]any)) []byte { return jwksOf(t, jwkJSON(t, rsaJWK, edit)) }

	tests := []struct {
		name string
		data []byte
		want int // usable keys; -1 means an error
	}{
		{"rsa sig RS256", set(nil), 1},
		{"no use, no alg", set(func(m map[string]any) { delete(m, "use"); delete(m, "alg") }), 1},
		{"use enc", set(func(m map[string]any) { m["use"] = "enc" }), -1},
		{"use empty string", set(func(m map[string]any) { m["use"] = "" }), -1},
		{"key_ops verify", set(func(m map[string]any) { m["key_ops"] = []string{"verify"} }), 1},
		{"key_ops encrypt", set(func(m map[string]any) { m["key_ops"] = []string{"encrypt"} }), -1},
		{"alg outside allow-list", set(func(m map[string]any) { m["alg"] = "RS512" }), -1},
		{"alg PS256 not allowed here", set(func(m map[string]any) { m["alg"] = "PS256" }), -1},
		{"alg HS256 on an RSA key", set(func(m map[string]any) { m["alg"] = "HS256" }), -1},
		{"symmetric key", jwksOf(t, json.RawMessage(`{"kty":"oct","kid":"mac","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}`)), -1},
		{"rsa 1024", jwksOf(t, jwkJSON(t, jose.JSONWebKey{Key: weak.Public(), KeyID: "weak"}, nil)), -1},
		{"ec P-384 for ES256", jwksOf(t, jwkJSON(t, jose.JSONWebKey{Key: p384.Public(), KeyID: "p384"}, nil)), -1},
		{"ed25519 when only RS256 and ES256 are allowed", jwksOf(t, jwkJSON(t, edA().jwk(), nil)), -1},
		{"unknown kty beside a good key", jwksOf(t, json.RawMessage(`{"kty":"XYZ","kid":"x"}`), jwkJSON(t, ecA().jwk(), nil)), 1},
		{"not an object key beside a good key", jwksOf(t, json.RawMessage(`"nope"`), jwkJSON(t, ecA().jwk(), nil)), 1},
		{"rsa and ec", jwksOf(t, jwkJSON(t, rsaJWK, nil), jwkJSON(t, ecA().jwk(), nil)), 2},
		{"no keys member", []byte(`{"kys":[]}`), -1},
		{"keys not an array", []byte(`{"keys":{}}`), -1},
		{"empty keys", []byte(`{"keys":[]}`), -1},
		{"not json", []byte(`<html>`), -1},
		{"too many keys", []byte(`{"keys":[` + strings.Repeat(`{},`, maxJWKSKeys) + `{}]}`), -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			set, err := parseJWKS(tc.data, allowed)
			if tc.want < 0 {
				if err == nil {
					t.Fatalf("parseJWKS accepted %d keys", set.n)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseJWKS: %v", err)
			}
			if set.n != tc.want {
				t.Fatalf("usable keys = %d, want %d", set.n, tc.want)
			}
		})
	}
}

func TestParseJWKSDropsPrivateMaterial(t *testing.T) {
	t.Parallel()
	priv := jose.JSONWebKey{Key: rsaKeyA(), KeyID: "leaked", Algorithm: "RS256", Use: "sig"}
	b, err := json.Marshal(map[string]any{"keys": []jose.JSONWebKey{priv}})
	if err != nil {
		t.Fatal(err)
	}
	set, err := parseJWKS(b, map[jose.SignatureAlgorithm]bool{jose.RS256: true})
	if err != nil {
		t.Fatal(err)
	}
	k := set.byKID["leaked"][0]
	if _, ok := k.pub.(*rsa.PublicKey); !ok {
		t.Fatalf("stored key is %T, want *rsa.PublicKey", k.pub)
	}
}

func TestKeyFitsAlgorithm(t *testing.T) {
	t.Parallel()
	rsaKey := verificationKey{pub: rsaKeyA().Public()}
	ecKey := verificationKey{pub: ecKeyA().Public()}
	edKey := verificationKey{pub: edKeyA().Public()}
	pinned := verificationKey{pub: rsaKeyA().Public(), alg: jose.RS256}
	tests := []struct {
		key  verificationKey
		alg  jose.SignatureAlgorithm
		want bool
	}{
		{rsaKey, jose.RS256, true},
		{rsaKey, jose.PS256, true},
		{rsaKey, jose.ES256, false},
		{rsaKey, jose.HS256, false},
		{pinned, jose.PS256, false},
		{ecKey, jose.ES256, true},
		{ecKey, jose.RS256, false},
		{edKey, jose.EdDSA, true},
		{edKey, jose.ES256, false},
		{verificationKey{pub: []byte("secret")}, jose.HS256, false},
	}
	for _, tc := range tests {
		if got := tc.key.fits(tc.alg); got != tc.want {
			t.Errorf("%T fits %s = %v, want %v", tc.key.pub, tc.alg, got, tc.want)
		}
	}
}

func TestCheckFetchURL(t *testing.T) {
	t.Parallel()
	for raw, ok := range map[string]bool{
		"https://token.actions.githubusercontent.com/.well-known/jwks": true,
		"http://127.0.0.1:1234/jwks":                                   true,
		"http://localhost/jwks":                                        true,
		"http://[::1]/jwks":                                            true,
		"http://LOCALHOST/jwks":                                        true,
		"http://127.0.0.1.evil.test/jwks":                              false,
		"http://token.actions.example/jwks":                            false,
		"file:///etc/passwd":                                           false,
		"//token.actions.example/jwks":                                 false,
		"https:///jwks":                                                false,
		"http://[::ffff:127.0.0.1]/jwks":                               false,
		"https://token.actions.example:8443":                           true,
	} {
		err := checkFetchURL(raw)
		if (err == nil) != ok {
			t.Errorf("checkFetchURL(%q) = %v, want ok=%v", raw, err, ok)
		}
	}
	if err := checkFetchURL("http://x.test"); err == nil || !strings.Contains(err.Error(), "must be https") {
		t.Errorf("message should name https: %v", err)
	}
}
