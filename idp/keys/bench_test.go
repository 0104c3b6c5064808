package keys

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// accessClaims is a typical JWT access token (RFC 9068 §2.2).
type accessClaims struct {
	Issuer   string   `json:"iss"`
	Subject  string   `json:"sub"`
	Audience []string `json:"aud"`
	Expiry   int64    `json:"exp"`
	IssuedAt int64    `json:"iat"`
	NotBef   int64    `json:"nbf"`
	ID       string   `json:"jti"`
	ClientID string   `json:"client_id"`
	Scope    string   `json:"scope"`
	AuthTime int64    `json:"auth_time"`
	ACR      string   `json:"acr"`
	AMR      []string `json:"amr"`
}

func benchClaims() accessClaims {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC).Unix()
	return accessClaims{
		Issuer: "https://id.example.com", Subject: "8f14e45f-ceea-467f-a0e6-8c2e1b0d9b7e",
		Audience: []string{"https://api.example.com"}, Expiry: now + 3600, IssuedAt: now,
		NotBef: now, ID: "Jx3m9q0b2c1d4e5f6g7h8i", ClientID: "web-frontend",
		Scope: "openid profile email api.read", AuthTime: now - 60, ACR: "urn:portcullis:mfa",
		AMR: []string{"pwd", "otp"},
	}
}

var benchAlgs = []string{RS256, ES256, EdDSA}

// benchManagers builds one Manager per algorithm (two RSA keys in all).
func benchManagers(b *testing.B) map[string]*Manager {
	b.Helper()
	out := map[string]*Manager{}
	for _, alg := range benchAlgs {
		f := newFixture(b)
		m, err := New(context.Background(), f.st, f.sealer, f.opts(alg))
		if err != nil {
			b.Fatal(err)
		}
		out[alg] = m
	}
	return out
}

// sign is the token path: take the current key, marshal the claims, sign, serialise.
func sign(m *Manager, claims *accessClaims) (string, error) {
	k := m.Current()
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.SignatureAlgorithm(k.Algorithm), Key: k.Private},
		(&jose.SignerOptions{}).WithType("at+jwt").WithHeader("kid", k.ID),
	)
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

func BenchmarkSign(b *testing.B) {
	ms := benchManagers(b)
	for _, alg := range benchAlgs {
		m := ms[alg]
		b.Run(alg, func(b *testing.B) {
			claims := benchClaims()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := sign(m, &claims); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(alg+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				claims := benchClaims()
				for pb.Next() {
					if _, err := sign(m, &claims); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	ms := benchManagers(b)
	for _, alg := range benchAlgs {
		m := ms[alg]
		claims := benchClaims()
		token, err := sign(m, &claims)
		if err != nil {
			b.Fatal(err)
		}
		pub := m.PublicKeys()[0].Public
		algs := []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)}
		b.Run(alg, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				jws, err := jose.ParseSigned(token, algs)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := jws.Verify(pub); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCurrent is the hot-path read: one atomic load.
func BenchmarkCurrent(b *testing.B) {
	f := newFixture(b)
	m := f.manager(b, EdDSA)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if m.Current().Private == nil {
				b.Error("no key")
				return
			}
		}
	})
}
