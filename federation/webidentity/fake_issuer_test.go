package webidentity

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// testKey is a signing key of the fake issuer (or of an attacker).
type testKey struct {
	kid  string
	alg  jose.SignatureAlgorithm
	priv crypto.Signer
	hmac []byte // an HMAC secret instead of priv (algorithm confusion tests)
}

func (k testKey) jwk() jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.priv.Public(), KeyID: k.kid, Algorithm: string(k.alg), Use: "sig"}
}

// RSA key generation is the slow part of these tests; each key is made once
// per test binary and shared.
var (
	rsaKeyA = sync.OnceValue(func() *rsa.PrivateKey { return mustRSA() })
	rsaKeyB = sync.OnceValue(func() *rsa.PrivateKey { return mustRSA() })
	rsaEvil = sync.OnceValue(func() *rsa.PrivateKey { return mustRSA() })
	ecKeyA  = sync.OnceValue(func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		return k
	})
	edKeyA = sync.OnceValue(func() ed25519.PrivateKey {
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			panic(err)
		}
		return k
	})
)

func mustRSA() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}

func rsaA() testKey     { return testKey{kid: "rsa-a", alg: jose.RS256, priv: rsaKeyA()} }
func rsaB() testKey     { return testKey{kid: "rsa-b", alg: jose.RS256, priv: rsaKeyB()} }
func ecA() testKey      { return testKey{kid: "ec-a", alg: jose.ES256, priv: ecKeyA()} }
func edA() testKey      { return testKey{kid: "ed-a", alg: jose.EdDSA, priv: edKeyA()} }
func attacker() testKey { return testKey{kid: "evil", alg: jose.RS256, priv: rsaEvil()} }

// fakeIssuer serves discovery and a JWKS on 127.0.0.1, can rotate its keys,
// go down, and counts requests.
type fakeIssuer struct {
	srv *httptest.Server

	mu        sync.Mutex
	keys      []jose.JSONWebKey
	issuer    string // "issuer" in discovery; the server URL by default
	jwksURI   string // "jwks_uri" in discovery; the server's /.well-known/jwks by default
	jwksBody  []byte // served instead of the key set when set
	chunked   bool   // stream jwksBody without Content-Length
	down      atomic.Bool
	hang      atomic.Bool // hold key requests until the client gives up
	jwksHits  atomic.Int32
	discoHits atomic.Int32
}

func newFakeIssuer(t testing.TB, keys ...testKey) *fakeIssuer {
	t.Helper()
	f := &fakeIssuer{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", f.serveDiscovery)
	mux.HandleFunc("GET /.well-known/jwks", f.serveJWKS)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	f.publish(keys...)
	return f
}

func (f *fakeIssuer) URL() string     { return f.srv.URL }
func (f *fakeIssuer) JWKSURL() string { return f.srv.URL + "/.well-known/jwks" }

// publish replaces the published key set (a rotation).
func (f *fakeIssuer) publish(keys ...testKey) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys = f.keys[:0]
	for _, k := range keys {
		f.keys = append(f.keys, k.jwk())
	}
}

func (f *fakeIssuer) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	f.discoHits.Add(1)
	if f.down.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	f.mu.Lock()
	iss, jwksURI := f.issuer, f.jwksURI
	f.mu.Unlock()
	if iss == "" {
		iss = f.srv.URL
	}
	if jwksURI == "" {
		jwksURI = f.JWKSURL()
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"issuer":                                iss,
		"jwks_uri":                              jwksURI,
		"subject_types_supported":               []string{"public", "pairwise"},
		"response_types_supported":              []string{"id_token"},
		"claims_supported":                      []string{"sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref", "repository", "repository_id"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      []string{"openid"},
	})
}

func (f *fakeIssuer) serveJWKS(w http.ResponseWriter, r *http.Request) {
	f.jwksHits.Add(1)
	if f.hang.Load() {
		<-r.Context().Done()
		return
	}
	if f.down.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	f.mu.Lock()
	body, chunked := f.jwksBody, f.chunked
	if body == nil {
		var err error
		if body, err = json.Marshal(jose.JSONWebKeySet{Keys: f.keys}); err != nil {
			f.mu.Unlock()
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	}
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if chunked {
		// Flushing before the end forces chunked encoding: no
		// Content-Length for the client to check up front.
		half := len(body) / 2
		_, _ = w.Write(body[:half])
		w.(http.Flusher).Flush()
		_, _ = w.Write(body[half:])
		return
	}
	_, _ = w.Write(body)
}

// fakeClock is an injected clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// sign makes a compact JWS over claims with k, adding extra protected
// header parameters. An empty kid leaves the kid header out.
func sign(t testing.TB, k testKey, claims map[string]any, extra map[jose.HeaderKey]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	for name, v := range extra {
		opts = opts.WithHeader(name, v)
	}
	var key any
	switch {
	case k.hmac != nil:
		key = k.hmac
		if k.kid != "" {
			opts = opts.WithHeader("kid", k.kid)
		}
	case k.kid != "":
		key = jose.JSONWebKey{Key: k.priv, KeyID: k.kid}
	default:
		key = k.priv
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: k.alg, Key: key}, opts)
	if err != nil {
		t.Fatalf("new signer: %v", err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatalf("marshal claims: %v", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		t.Fatalf("serialize: %v", err)
	}
	return raw
}

const testAudience = "https://sts.portcullis.test"

// githubClaims is a token shaped like a GitHub Actions one (SPEC §9), with
// every claim name GitHub documents. GitHub writes ids and counters as
// strings.
func githubClaims(iss string, now time.Time) map[string]any {
	return map[string]any{
		"jti":                   "c5d4a7a2-6a3b-4a4e-9b87-2f2d1c7c0d11",
		"sub":                   "repo:octo-org/payments:environment:production",
		"aud":                   testAudience,
		"ref":                   "refs/heads/main",
		"sha":                   "d6f1b8a6b0c2d4e6f8a0b2c4d6e8f0a2b4c6d8e0",
		"repository":            "octo-org/payments",
		"repository_owner":      "octo-org",
		"repository_owner_id":   "65432",
		"repository_visibility": "private",
		"repository_id":         "123456789",
		"run_id":                "9876543210",
		"run_number":            "42",
		"run_attempt":           "1",
		"check_run_id":          "31415926535",
		"actor":                 "octocat",
		"actor_id":              "583231",
		"workflow":              "deploy",
		"workflow_ref":          "octo-org/payments/.github/workflows/deploy.yml@refs/heads/main",
		"workflow_sha":          "d6f1b8a6b0c2d4e6f8a0b2c4d6e8f0a2b4c6d8e0",
		"job_workflow_ref":      "octo-org/shared/.github/workflows/release.yml@refs/tags/v3",
		"job_workflow_sha":      "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567",
		"head_ref":              "",
		"base_ref":              "",
		"event_name":            "push",
		"ref_type":              "branch",
		"ref_protected":         "true",
		"environment":           "production",
		"runner_environment":    "github-hosted",
		"enterprise":            "octo-enterprise",
		"enterprise_id":         "1234",
		"repo_property_team":    "payments",
		"iss":                   iss,
		"nbf":                   now.Add(-10 * time.Minute).Unix(),
		"iat":                   now.Add(-5 * time.Second).Unix(),
		"exp":                   now.Add(5 * time.Minute).Unix(),
	}
}

// testVerifier builds a verifier over issuers with a fake clock.
func testVerifier(t testing.TB, clock *fakeClock, opts Options, issuers ...Issuer) *Verifier {
	t.Helper()
	opts.Now = clock.Now
	v, err := NewVerifier(issuers, opts)
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	return v
}

// githubAgainst is the GitHub preset with its keys served by f: the iss
// claim stays GitHub's, only the JWKS location is local.
func githubAgainst(f *fakeIssuer) Issuer {
	is := GitHubActions(testAudience)
	is.JWKSURL = f.JWKSURL()
	return is
}
